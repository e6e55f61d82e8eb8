import Engine

/// Hands each batch to django-q2 as one `async_task` of restflow's
/// `run_cache_rules`.
///
/// Arguments as for RQ, with `dispatcher_name="django_q"`. The task's
/// options carry `cluster` and `group` when they are configured. Without a
/// cluster the task's queue is empty, so the broker sends it to the
/// deployment's own cluster (`Q_CLUSTER["name"]`), as `async_task` does.
///
/// - Important: a custom `function_path` must accept the `context` keyword
///   argument, as restflow's `run_cache_rules` does.
public struct DjangoQDispatcher: BrokerDispatcher {
    public static let registeredName = "django_q"
    public static let defaultFunctionPath = DjangoRQDispatcher.defaultFunctionPath
    public let name = registeredName
    public let supportsBatching = true
    public let batchKey: String
    public let runsInProcess = false
    public let resolvedOptions: JSONObject
    public let raiseException: Bool?
    public let context: BrokerDispatchContext
    /// The configured cluster; nil sends to the deployment's own cluster.
    public let cluster: String?
    /// The configured task group; nil sends ungrouped tasks.
    public let group: String?
    public let functionPath: String

    /// Validates `cluster`, `group`, `function_path` and `raise_exception`; any other option fails.
    public init(options: DispatcherOptions, context: BrokerDispatchContext) throws(DispatcherConfigurationError) {
        try options.rejectUnknownBrokerOptions(allowed: ["cluster", "group", "function_path"])
        cluster = try options.string("cluster")
        group = try options.string("group")
        functionPath = try options.string("function_path", default: Self.defaultFunctionPath) ?? Self.defaultFunctionPath
        raiseException = try options.raiseException()
        let settings = [("cluster", cluster), ("group", group), ("function_path", Optional(functionPath))]
        resolvedOptions = options.resolved(settings)
        batchKey = brokerBatchKey(Self.registeredName, settings)
        self.context = context
    }

    public var runsOn: String { "\(Self.registeredName):\(cluster ?? "default cluster")" }

    public func makeTask(for batch: Batch) -> TaskMessage {
        var options = JSONObject()
        if let cluster { options.appendUnchecked("cluster", .string(cluster)) }
        if let group { options.appendUnchecked("group", .string(group)) }
        return TaskMessage(
            system: .djangoQ, queue: cluster ?? "", taskName: functionPath,
            args: [RestflowArguments.ruleIDs(of: batch), RestflowArguments.ruleKwargs(of: batch)],
            kwargs: runCacheRulesKwargs(dispatcherName: Self.registeredName, block: dispatchtopBlock(for: batch)),
            options: options, batch: batch)
    }
}
