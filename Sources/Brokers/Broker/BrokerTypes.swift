import Engine

/// The task systems whose message formats dispatchtop writes.
public enum BrokerSystem: String, Sendable, CaseIterable {
    case celery
    case rq = "django_rq"
    case djangoQ = "django_q"
    case dramatiq

    /// The dispatcher name that sends to this system.
    public var dispatcherName: String { rawValue }
}

/// A task to hand to a broker, before any wire encoding: what restflow's
/// dispatcher would pass to its library (`apply_async`, `enqueue`,
/// `async_task`, `send_with_options`).
public struct TaskMessage: Sendable, Equatable {
    public var system: BrokerSystem
    /// Celery queue, RQ queue, Dramatiq queue, or django-q cluster name.
    /// Empty means the system's default (the deployment's own django-q cluster).
    public var queue: String
    /// Celery task name, RQ / django-q function path, or Dramatiq actor name.
    public var taskName: String
    /// Positional arguments (`[rule_ids, rule_kwargs]` for RQ, django-q and Dramatiq).
    public var args: [JSONValue]
    /// Keyword arguments (Celery's `model_label`, `pk`, ...; `dispatcher_name` for RQ and django-q).
    public var kwargs: JSONObject
    /// System options: django-q `group`, Dramatiq message options, ...
    public var options: JSONObject
    /// The batch this task carries, with the stable rule ids.
    public var batch: Batch

    public init(
        system: BrokerSystem, queue: String, taskName: String, args: [JSONValue], kwargs: JSONObject,
        options: JSONObject = JSONObject(), batch: Batch
    ) {
        self.system = system
        self.queue = queue
        self.taskName = taskName
        self.args = args
        self.kwargs = kwargs
        self.options = options
        self.batch = batch
    }
}

/// A broker operation that failed.
public struct BrokerError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        /// The broker cannot be reached (connection refused, timed out, closed).
        case unavailable
        /// The broker answered with an error (wrong password, wrong type of key, ...).
        case rejected
        /// A stored message is not in the expected format.
        case undecodable
        /// The message or queue asked for does not exist.
        case notFound = "not_found"
        /// A write was asked for without write mode.
        case readOnly = "read_only"
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}

/// A failed (or dead-lettered) message as the broker stores it.
public struct FailedMessage: Sendable, Equatable {
    public var system: BrokerSystem
    public var queue: String
    /// The broker's own id: Celery task id, RQ job id, Dramatiq message id, django-q task id.
    public var messageID: String
    /// The stored bytes, unchanged.
    public var body: [UInt8]
    /// The batch decoded from the body, when it can be decoded.
    public var batch: Batch?
    public var error: String?
    /// Seconds since the Unix epoch, when known.
    public var failedAt: Double?
    public var attempts: Int?
    /// Why the body could not be decoded, when it could not.
    public var undecodableReason: String?
    /// The options the message was sent with (django-q `group` and `cluster`,
    /// Dramatiq message options), unchanged by a requeue.
    public var options: JSONObject

    public init(
        system: BrokerSystem, queue: String, messageID: String, body: [UInt8], batch: Batch? = nil, error: String? = nil,
        failedAt: Double? = nil, attempts: Int? = nil, undecodableReason: String? = nil, options: JSONObject = JSONObject()
    ) {
        self.system = system
        self.queue = queue
        self.messageID = messageID
        self.body = body
        self.batch = batch
        self.error = error
        self.failedAt = failedAt
        self.attempts = attempts
        self.undecodableReason = undecodableReason
        self.options = options
    }
}

/// Where broker dispatchers send tasks, and what the console reads back.
///
/// Two implementations: the embedded in-memory broker (with in-process
/// consumers) and Redis (real wire formats, consumed by real Python workers).
public protocol MessageBroker: Sendable {
    /// For the header: `embedded`, or the URL without its password.
    var label: String { get }
    /// Encodes and stores `task`; returns the stored bytes (kept in the
    /// journal so a replay sends the same bytes).
    func enqueue(_ task: TaskMessage) throws(BrokerError) -> [UInt8]
    /// Stores already-encoded bytes again, unchanged: a replay.
    func enqueueStored(_ body: [UInt8], task: TaskMessage) throws(BrokerError)
    /// Depth of every queue this broker knows about.
    func depths() -> [QueueDepth]
    /// Failed or dead-lettered messages, newest first.
    func failedMessages(limit: Int) -> [FailedMessage]
    /// Failed or dead-lettered messages of one queue, newest first.
    func failedMessages(system: BrokerSystem, queue: String, limit: Int) -> [FailedMessage]
    /// Moves a failed message back to its queue, payload and options unchanged.
    func requeue(_ message: FailedMessage) throws(BrokerError)
    /// Reachability, for the header.
    var status: BrokerStatus { get }

    // Requirements with default implementations in the extension below, so
    // a broker without in-process consumers need not implement them.
    var reportsOutcomes: Bool { get }
    func enqueue(_ task: TaskMessage, reportingTo executor: BatchExecutor) throws(BrokerError) -> [UInt8]
    func enqueueStored(_ body: [UInt8], task: TaskMessage, reportingTo executor: BatchExecutor) throws(BrokerError)
}

extension MessageBroker {
    /// Whether this broker's consumers run in this process and report every
    /// batch's outcome through the executor. False for brokers whose workers
    /// run elsewhere, so a dispatcher marks the batch sent once it is stored.
    public var reportsOutcomes: Bool { false }

    /// Filters the newest `limit` failed messages of all queues. A broker
    /// that can read one queue's failures alone overrides this, because
    /// failures of busier queues would otherwise crowd this queue's out.
    public func failedMessages(system: BrokerSystem, queue: String, limit: Int) -> [FailedMessage] {
        failedMessages(limit: limit).filter { $0.system == system && $0.queue == queue }
    }

    /// Encodes and stores `task`, naming the executor that has the batch
    /// queued. Brokers with in-process consumers report to it; the others
    /// store the task as ``enqueue(_:)`` does.
    public func enqueue(_ task: TaskMessage, reportingTo executor: BatchExecutor) throws(BrokerError) -> [UInt8] {
        try enqueue(task)
    }

    /// Stores already-encoded bytes again, unchanged, naming the executor
    /// that has the batch queued (see ``enqueue(_:reportingTo:)``).
    public func enqueueStored(_ body: [UInt8], task: TaskMessage, reportingTo executor: BatchExecutor) throws(BrokerError) {
        try enqueueStored(body, task: task)
    }
}
