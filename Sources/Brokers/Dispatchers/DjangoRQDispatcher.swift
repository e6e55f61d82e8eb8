import Engine

/// Hands each batch to RQ (as django-rq enqueues it) as one job running
/// restflow's `run_cache_rules`.
///
/// The job gets `rule_ids` and `rule_kwargs` as positional arguments and
/// `dispatcher_name="django_rq"`, as restflow sends them, plus
/// `context={"dispatchtop": {...}}`.
///
/// - Important: a custom `function_path` must accept the `context` keyword
///   argument, as restflow's `run_cache_rules` does.
public struct DjangoRQDispatcher: BrokerDispatcher {
    public static let registeredName = "django_rq"
    public static let defaultQueue = "default"
    public static let defaultFunctionPath = "restflow.caching.tasks.run_cache_rules"

    public let name = registeredName
    public let supportsBatching = true
    public let batchKey: String
    public let runsInProcess = false
    public let resolvedOptions: JSONObject
    public let raiseException: Bool?
    public let context: BrokerDispatchContext
    public let queue: String
    /// The dotted path of the function the job runs.
    public let functionPath: String

    /// Validates `queue`, `function_path` and `raise_exception`; any other option fails.
    public init(options: DispatcherOptions, context: BrokerDispatchContext) throws(DispatcherConfigurationError) {
        try options.rejectUnknownBrokerOptions(allowed: ["queue", "function_path"])
        queue = try options.string("queue", default: Self.defaultQueue) ?? Self.defaultQueue
        functionPath = try options.string("function_path", default: Self.defaultFunctionPath) ?? Self.defaultFunctionPath
        raiseException = try options.raiseException()
        let settings = [("queue", Optional(queue)), ("function_path", Optional(functionPath))]
        resolvedOptions = options.resolved(settings)
        batchKey = brokerBatchKey(Self.registeredName, settings)
        self.context = context
    }

    public var runsOn: String { "\(Self.registeredName):\(queue)" }

    public func makeTask(for batch: Batch) -> TaskMessage {
        TaskMessage(
            system: .rq, queue: queue, taskName: functionPath,
            args: [RestflowArguments.ruleIDs(of: batch), RestflowArguments.ruleKwargs(of: batch)],
            kwargs: runCacheRulesKwargs(dispatcherName: Self.registeredName, block: dispatchtopBlock(for: batch)),
            batch: batch)
    }
}

/// Builds the keyword arguments of restflow's `run_cache_rules` as the RQ
/// and django-q dispatchers send them, with the `dispatchtop` block in `context`.
func runCacheRulesKwargs(dispatcherName: String, block: JSONObject) -> JSONObject {
    var context = JSONObject()
    context.appendUnchecked(DispatchtopBlock.key, .object(block))
    var kwargs = JSONObject()
    kwargs.appendUnchecked("dispatcher_name", .string(dispatcherName))
    kwargs.appendUnchecked("context", .object(context))
    return kwargs
}
