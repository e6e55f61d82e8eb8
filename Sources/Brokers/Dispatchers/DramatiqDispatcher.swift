import Engine

/// Hands each batch to Dramatiq as one message for restflow's actor.
///
/// The actor takes `(rule_ids, rule_kwargs)` positionally and no keyword
/// arguments; the `dispatchtop` block travels in the message options.
/// The configured queue is the queue the message lands on. (With restflow
/// 2.0.1 and Dramatiq 2.2.1 it is not: `send_with_options(queue_name=…)`
/// keeps the actor's own queue and only records the name in the options.)
public struct DramatiqDispatcher: BrokerDispatcher {
    public static let registeredName = "dramatiq"
    public static let defaultQueue = "default"
    public static let defaultActorName = "restflow.task_run_cache_rules"

    public let name = registeredName
    public let supportsBatching = true
    public let batchKey: String
    public let runsInProcess = false
    public let resolvedOptions: JSONObject
    public let raiseException: Bool?
    public let context: BrokerDispatchContext
    public let queue: String
    public let actorName: String

    /// Validates `queue`, `actor_name` and `raise_exception`; any other option fails.
    public init(options: DispatcherOptions, context: BrokerDispatchContext) throws(DispatcherConfigurationError) {
        try options.rejectUnknownBrokerOptions(allowed: ["queue", "actor_name"])
        queue = try options.string("queue", default: Self.defaultQueue) ?? Self.defaultQueue
        actorName = try options.string("actor_name", default: Self.defaultActorName) ?? Self.defaultActorName
        raiseException = try options.raiseException()
        let settings = [("queue", Optional(queue)), ("actor_name", Optional(actorName))]
        resolvedOptions = options.resolved(settings)
        batchKey = brokerBatchKey(Self.registeredName, settings)
        self.context = context
    }

    public var runsOn: String { "\(Self.registeredName):\(queue)" }

    public func makeTask(for batch: Batch) -> TaskMessage {
        var options = JSONObject()
        options.appendUnchecked(DispatchtopBlock.key, .object(dispatchtopBlock(for: batch)))
        return TaskMessage(
            system: .dramatiq, queue: queue, taskName: actorName,
            args: [RestflowArguments.ruleIDs(of: batch), RestflowArguments.ruleKwargs(of: batch)], kwargs: JSONObject(),
            options: options, batch: batch)
    }
}
