import Engine

/// One step in the life of an embedded broker message.
public struct EmbeddedMessageTransition: Sendable, Equatable {
    /// The state the message entered: `queued` (ready), `running` (delivered
    /// to a consumer), `retrying` (to be delivered again), `done`, `failed`
    /// or `dead` (dead-lettered).
    public var state: BatchState
    /// Seconds since the Unix epoch.
    public var at: Double
    /// Deliveries so far when it happened; 0 before the first.
    public var delivery: Int
    /// Why, for retries and failures: the error, the wait, the lost consumer.
    public var note: String?

    public init(state: BatchState, at: Double, delivery: Int, note: String? = nil) {
        self.state = state
        self.at = at
        self.delivery = delivery
        self.note = note
    }
}

/// An embedded broker message as the broker stores it: where it is, how often
/// it was delivered, and every state it went through.
public struct EmbeddedMessageRecord: Sendable, Equatable {
    public var id: String
    public var system: BrokerSystem
    /// The queue name without the system, e.g. `cache-invalidation`.
    public var queue: String
    /// The id of the engine batch the message reports to, once known.
    public var batchID: UInt64?
    public var state: BatchState
    public var deliveries: Int
    /// Oldest first; at most ``EmbeddedBrokerState/historyCapacity`` entries,
    /// the oldest dropped beyond it.
    public var history: [EmbeddedMessageTransition]
    public var error: String?
    /// False once the message was acknowledged and removed.
    public var isStored: Bool

    /// The states in `history`, in order.
    public var states: [BatchState] { history.map(\.state) }
}

/// Counts of what happened on one embedded queue since the broker started.
public struct EmbeddedQueueStatistics: Sendable, Equatable {
    /// `system:queue`, as in ``QueueDepth/name``.
    public var name: String
    public var enqueued = 0
    public var delivered = 0
    /// Acknowledged after the batch succeeded.
    public var acknowledged = 0
    /// Acknowledged after a failure the error policy did not propagate.
    public var acknowledgedFailures = 0
    /// Put back for another delivery: Celery redeliveries and Dramatiq retries.
    public var retried = 0
    /// Celery messages put back because no acknowledgement came in time.
    public var expired = 0
    /// Moved to the failed list, dead letters included.
    public var failed = 0
    public var deadLettered = 0
    /// Failed messages dropped because the failed list was full.
    public var evicted = 0
    /// Moved from the failed list back to the queue.
    public var requeued = 0
    /// Deliveries whose body could not be decoded.
    public var undecodable = 0
    /// Deliveries whose consumer was lost before acknowledging.
    public var workerLosses = 0

    public init(name: String) {
        self.name = name
    }
}
