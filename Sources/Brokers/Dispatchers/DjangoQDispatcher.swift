import Engine

/// Hands each batch to django-q2 as one `async_task` of restflow's
/// `run_cache_rules`.
///
/// Arguments as for RQ, with `dispatcher_name="django_q"`; the task's
/// options carry `cluster` and `group` when they are configured.
///
/// - Important: a custom `function_path` must accept the `context` keyword
///   argument, as restflow's `run_cache_rules` does.
public struct DjangoQDispatcher: BrokerDispatcher {
    public static let registeredName = "django_q"
    public static let defaultFunctionPath = DjangoRQDispatcher.defaultFunctionPath
    /// The cluster django-q uses when none is named (`Q_CLUSTER["name"]`'s default).
    public static let defaultClusterName = "default"

    public let name = registeredName
    public let supportsBatching = true
    public let batchKey: String
    public let runsInProcess = false
    public let resolvedOptions: JSONObject
    public let raiseException: Bool?
    public let context: BrokerDispatchContext
    /// The configured cluster; nil sends to the default cluster.
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

    /// The cluster whose queue the tasks land on.
    public var deliveryCluster: String { cluster ?? Self.defaultClusterName }

    public var runsOn: String { "\(Self.registeredName):\(deliveryCluster)" }

    public func makeTask(for batch: Batch) -> TaskMessage {
        var options = JSONObject()
        if let cluster { options.appendUnchecked("cluster", .string(cluster)) }
        if let group { options.appendUnchecked("group", .string(group)) }
        return TaskMessage(
            system: .djangoQ, queue: deliveryCluster, taskName: functionPath,
            args: [RestflowArguments.ruleIDs(of: batch), RestflowArguments.ruleKwargs(of: batch)],
            kwargs: runCacheRulesKwargs(dispatcherName: Self.registeredName, block: dispatchtopBlock(for: batch)),
            options: options, batch: batch)
    }
}
