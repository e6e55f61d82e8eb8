import Engine

/// Hands each batch to Celery as one call of restflow's Celery task.
///
/// The task gets restflow's keyword arguments (`model_label`, `pk`,
/// `rule_ids`, `signal_type`, `rule_kwargs`) and no positional ones, plus
/// the `dispatchtop` kwarg, which the task receives in its `**context`.
public struct CeleryDispatcher: BrokerDispatcher {
    public static let registeredName = "celery"
    public static let defaultTaskName = "restflow.caching.tasks.task_run_cache_rules"
    /// The queue Celery sends to when none is configured.
    public static let brokerDefaultQueue = "celery"

    public let name = registeredName
    public let supportsBatching = true
    public let batchKey: String
    public let runsInProcess = false
    public let resolvedOptions: JSONObject
    public let raiseException: Bool?
    public let context: BrokerDispatchContext
    /// The registered name of the Celery task.
    public let taskName: String
    /// The configured queue; nil sends to the broker's default queue.
    public let queue: String?

    /// Validates `task_name`, `queue` and `raise_exception`; any other option fails.
    public init(options: DispatcherOptions, context: BrokerDispatchContext) throws(DispatcherConfigurationError) {
        try options.rejectUnknownBrokerOptions(allowed: ["task_name", "queue"])
        taskName = try options.string("task_name", default: Self.defaultTaskName) ?? Self.defaultTaskName
        queue = try options.string("queue")
        raiseException = try options.raiseException()
        let settings = [("task_name", Optional(taskName)), ("queue", queue)]
        resolvedOptions = options.resolved(settings)
        batchKey = brokerBatchKey(Self.registeredName, settings)
        self.context = context
    }

    /// The queue the tasks land on.
    public var deliveryQueue: String { queue ?? Self.brokerDefaultQueue }

    public var runsOn: String { "\(Self.registeredName):\(deliveryQueue)" }

    public func makeTask(for batch: Batch) -> TaskMessage {
        var kwargs = JSONObject()
        kwargs.appendUnchecked("model_label", .string(batch.model))
        kwargs.appendUnchecked("pk", batch.pk)
        kwargs.appendUnchecked("rule_ids", RestflowArguments.ruleIDs(of: batch))
        kwargs.appendUnchecked("signal_type", .string(batch.signal.restflowName))
        kwargs.appendUnchecked("rule_kwargs", RestflowArguments.ruleKwargs(of: batch))
        kwargs.appendUnchecked(DispatchtopBlock.key, .object(dispatchtopBlock(for: batch)))
        return TaskMessage(system: .celery, queue: deliveryQueue, taskName: taskName, args: [], kwargs: kwargs, batch: batch)
    }
}
