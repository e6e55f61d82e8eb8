/// A batch as the console's Live batches pane shows it.
public struct LiveBatch: Sendable, Equatable {
    public var id: UInt64
    public var dispatcher: String
    public var model: String
    public var pk: JSONValue
    public var signal: ChangeSignal
    public var ruleIDs: [String]
    public var state: BatchState
    /// Seconds since the Unix epoch.
    public var createdAt: Double
    public var startedAt: Double?
    public var finishedAt: Double?
    public var attempt: Int
    public var error: String?
    public var replayOf: Int64?
    public var eventIndex: Int?
    /// Rule arguments keyed by stable rule id, shared with the batch (not copied).
    public var ruleKwargs: JSONObject = JSONObject()
}

/// Figures for one dispatcher.
public struct DispatcherSnapshot: Sendable, Equatable {
    public var name: String
    public var runsOn: String
    public var batching: Bool
    /// Rules configured on this dispatcher.
    public var ruleCount: Int
    public var dispatched: UInt64 = 0
    /// Queued, running or waiting for a retry.
    public var inFlight: Int = 0
    public var queued: Int = 0
    public var done: UInt64 = 0
    public var failed: UInt64 = 0
    public var replayed: UInt64 = 0
    public var retried: UInt64 = 0
    public var sent: UInt64 = 0
    public var deadLettered: UInt64 = 0
    /// Percentiles over the last minute, in microseconds.
    public var queueWaitP50: UInt64?
    public var queueWaitP99: UInt64?
    public var runTimeP50: UInt64?
    public var runTimeP99: UInt64?
    /// Finished batches per second over the last 1, 10 and 60 seconds.
    public var rate1s: Double = 0
    public var rate10s: Double = 0
    public var rate60s: Double = 0
    /// Fault injection in force, if any.
    public var fault: FaultSetting?
}

/// Depth of one broker queue, as a probe read it.
public struct QueueDepth: Sendable, Equatable {
    /// `system:queue`, e.g. `celery:cache-invalidation`.
    public var name: String
    /// Where the numbers come from, e.g. `embedded` or `redis LLEN`.
    public var source: String
    public var ready: Int?
    public var inFlight: Int?
    public var delayed: Int?
    public var failed: Int?
    /// Seconds since the Unix epoch when read.
    public var readAt: Double
    /// Set when a figure cannot be read, e.g. "failures live in the Django database".
    public var note: String?
    /// Set when the broker rejected a probe command, such as a key of another type.
    public var probeError: String?

    public init(
        name: String, source: String, ready: Int?, inFlight: Int?, delayed: Int?, failed: Int?, readAt: Double,
        note: String? = nil
    ) {
        self.name = name
        self.source = source
        self.ready = ready
        self.inFlight = inFlight
        self.delayed = delayed
        self.failed = failed
        self.readAt = readAt
        self.note = note
    }
}

/// A queue's depth now and its ready count over the last 60 seconds.
public struct QueueSnapshot: Sendable, Equatable {
    public var depth: QueueDepth
    /// One sample per second, oldest first, 60 at most.
    public var history: [Int]
}

/// Counters of the event source.
public struct EventCounters: Sendable, Equatable {
    public var read: UInt64 = 0
    public var rejected: UInt64 = 0
    /// Saves with an empty update_fields list, which Django never signals.
    public var skippedEmpty: UInt64 = 0
    public var dispatches: UInt64 = 0
    public var ratePerSecond: Double = 0
    public var lastRejection: String?

    public init() {}
}

/// An immutable picture of the engine that a renderer can read at leisure
/// while workers go on.
public struct EngineSnapshot: Sendable {
    public var time: Double
    public var dispatchers: [DispatcherSnapshot]
    /// In-flight batches, newest first, then recently finished ones.
    public var liveBatches: [LiveBatch]
    public var queues: [QueueSnapshot]
    public var failures: FailureListing
    public var events: EventCounters
    /// Dispatches waiting in the outbox for a broker to come back.
    public var outboxWaiting: Int
    public var brokerStatus: BrokerStatus?
    /// The cache store's reachability, when it is outside this process.
    public var cacheStatus: CacheStatus?
}

/// Whether a service outside this process (the broker, the cache store)
/// can be reached, for the header.
public struct ServiceStatus: Sendable, Equatable {
    public var label: String
    public var isUp: Bool
    /// The reason it cannot be reached, when it cannot.
    public var detail: String?

    public init(label: String, isUp: Bool, detail: String? = nil) {
        self.label = label
        self.isUp = isUp
        self.detail = detail
    }
}

public typealias BrokerStatus = ServiceStatus
public typealias CacheStatus = ServiceStatus
