import Dispatch
import Engine
import Foundation
import Synchronization

/// An in-memory broker with in-process consumers, so every broker
/// dispatcher works with no server.
///
/// Each system has its named queues, a failed list and consumer threads
/// that decode each message, check its rules against the engine's rule set,
/// and run the batch through the engine's executor. Each system keeps the
/// delivery semantics it is known for (see ``EmbeddedBrokerSettings``):
///
/// - Celery redelivers a message that was not acknowledged. A failure that
///   raises puts it back at once, and a lost consumer once the visibility
///   timeout passes. Out of redeliveries, the message fails.
/// - RQ moves a job that fails to its failed job registry.
/// - Dramatiq retries through a delayed queue with exponential backoff, then
///   dead-letters.
/// - django-q records a failure with the task's group and cluster.
///
/// A failure whose error policy does not raise is journalled and the message
/// acknowledged. A message that cannot be decoded goes to the failed list
/// with the reason. Messages are kept in memory only: they are lost when the
/// process ends, which is why every failure also goes to the journal.
public final class EmbeddedBroker: MessageBroker {
    public let label = "embedded"
    public let settings: EmbeddedBrokerSettings
    let logger: Logger
    let shared: Mutex<Shared>
    /// Signalled when a system's consumers may have something new to do.
    let wakeups: [BrokerSystem: DispatchSemaphore]
    /// Entered by each consumer thread, left when it exits.
    let consumersRunning = DispatchGroup()
    /// Serialises ``start(engine:)`` and ``stop()``.
    private let lifecycle = Mutex(0)

    struct Shared {
        var machine: EmbeddedBrokerState
        /// The engine whose rules and executor consumers use; set while running.
        var engine: Engine?
        var running = false
        var stopping = false
        var available = true
        /// Consumers handling a delivery right now.
        var busy = 0
    }

    public init(settings: EmbeddedBrokerSettings = EmbeddedBrokerSettings(), logger: Logger = .disabled) {
        self.settings = settings
        self.logger = logger
        shared = Mutex(Shared(machine: EmbeddedBrokerState(settings: settings)))
        var wakeups: [BrokerSystem: DispatchSemaphore] = [:]
        for system in BrokerSystem.allCases {
            wakeups[system] = DispatchSemaphore(value: 0)
        }
        self.wakeups = wakeups
    }

    // MARK: - Consumers

    /// Starts ``EmbeddedBrokerSettings/consumersPerSystem`` consumer threads
    /// per system, reporting to `engine`; consumers already running are
    /// stopped first. Messages stored meanwhile are delivered now.
    ///
    /// - Important: call ``stop()`` before dropping the broker, because the
    ///   consumer threads keep it alive.
    public func start(engine: Engine) {
        lifecycle.withLock { _ in
            stopConsumers()
            shared.withLock { shared in
                shared.engine = engine
                shared.running = true
                shared.stopping = false
            }
            for system in BrokerSystem.allCases {
                for index in 0..<settings.consumersPerSystem {
                    consumersRunning.enter()
                    let thread = Thread { [self] in
                        runConsumer(for: system)
                        consumersRunning.leave()
                    }
                    thread.name = "embedded-\(system.rawValue)-\(index)"
                    thread.start()
                }
            }
        }
        logger.debug("Embedded broker consumers started", [(LogKey.count, String(settings.consumersPerSystem))])
    }

    /// Stops the consumers after the deliveries they are handling, and puts
    /// messages still in flight back at the end of their queues. Call it
    /// from outside the consumers (not from an executor observer), because it
    /// waits for them to exit.
    public func stop() {
        lifecycle.withLock { _ in stopConsumers() }
    }

    private func stopConsumers() {
        let wasRunning = shared.withLock { shared in
            guard shared.running else { return false }
            shared.stopping = true
            return true
        }
        guard wasRunning else { return }
        for semaphore in wakeups.values {
            for _ in 0..<settings.consumersPerSystem {
                semaphore.signal()
            }
        }
        consumersRunning.wait()
        let now = settings.clock()
        shared.withLock { shared in
            shared.running = false
            shared.stopping = false
            shared.engine = nil
            shared.machine.restoreInFlight(now: now)
        }
        logger.debug("Embedded broker consumers stopped")
    }

    public var isRunning: Bool { shared.withLock { $0.running } }

    /// Blocks until nothing is ready, in flight or delayed and no consumer is
    /// busy, or `timeout` seconds pass; returns whether that happened.
    public func waitUntilIdle(timeout: Double) -> Bool {
        let deadline = Date().timeIntervalSince1970 + timeout
        while Date().timeIntervalSince1970 < deadline {
            if shared.withLock({ $0.busy == 0 && $0.machine.isDrained }) { return true }
            usleep(1000)
        }
        return false
    }

    // MARK: - Faults

    /// Makes the consumers of the next `deliveries` Celery deliveries get
    /// lost before acknowledging, as a worker killed mid-task. Each such
    /// message stays in flight until its visibility timeout passes.
    public func simulateCeleryWorkerLoss(deliveries: Int = 1) {
        shared.withLock { $0.machine.pendingWorkerLosses += max(0, deliveries) }
    }

    /// Simulates an outage: while unavailable, storing and requeueing fail
    /// with kind `unavailable`. Consumers keep delivering what is stored.
    public func setAvailable(_ available: Bool) {
        shared.withLock { $0.available = available }
    }

    // MARK: - MessageBroker

    public var reportsOutcomes: Bool { true }

    /// Stores `task` with no engine batch; a consumer registers it with its
    /// engine as a new batch when it delivers it.
    public func enqueue(_ task: TaskMessage) throws(BrokerError) -> [UInt8] {
        try store(task, body: nil, tracked: nil)
    }

    public func enqueue(_ task: TaskMessage, reportingTo executor: BatchExecutor) throws(BrokerError) -> [UInt8] {
        try store(task, body: nil, tracked: TrackedBatch(batch: task.batch, executor: executor))
    }

    public func enqueueStored(_ body: [UInt8], task: TaskMessage) throws(BrokerError) {
        _ = try store(task, body: body, tracked: nil)
    }

    public func enqueueStored(_ body: [UInt8], task: TaskMessage, reportingTo executor: BatchExecutor) throws(BrokerError) {
        _ = try store(task, body: body, tracked: TrackedBatch(batch: task.batch, executor: executor))
    }

    /// Stores `body` (or the encoded task) on the task's queue.
    private func store(_ task: TaskMessage, body: [UInt8]?, tracked: TrackedBatch?) throws(BrokerError) -> [UInt8] {
        let bytes = body ?? EmbeddedMessageCoding.encode(task)
        let id = settings.makeMessageID(task.system)
        let now = settings.clock()
        let queue = QueueName(system: task.system, name: task.queue.isEmpty ? Self.defaultQueue(of: task.system) : task.queue)
        try shared.withLock { shared throws(BrokerError) in
            guard shared.available else { throw Self.outage }
            shared.machine.store(id: id, queue: queue, body: bytes, options: task.options, tracked: tracked, now: now)
        }
        wakeups[task.system]?.signal()
        logger.trace(
            "Message stored",
            [(BrokerLogKey.messageID, id), (LogKey.queue, queue.label), (LogKey.batchID, String(task.batch.id))])
        return bytes
    }

    public func depths() -> [QueueDepth] {
        let now = settings.clock()
        return shared.withLock { $0.machine.depths(now: now) }
    }

    public func failedMessages(limit: Int) -> [FailedMessage] {
        shared.withLock { $0.machine.failedMessages(limit: limit) }
    }

    public func failedMessages(system: BrokerSystem, queue: String, limit: Int) -> [FailedMessage] {
        let name = QueueName(system: system, name: queue)
        return shared.withLock { $0.machine.failedMessages(limit: limit, in: name) }
    }

    /// Moves a failed message back to the end of its queue, body and options
    /// unchanged. Its consumer registers it with the engine as a new batch.
    ///
    /// NOTE: the journal entry of the earlier failure stays open when the
    /// requeued message succeeds, because the broker does not know that
    /// entry. A replay from the journal resolves it.
    public func requeue(_ message: FailedMessage) throws(BrokerError) {
        let now = settings.clock()
        let queue = QueueName(system: message.system, name: message.queue)
        try shared.withLock { shared throws(BrokerError) in
            guard shared.available else { throw Self.outage }
            try shared.machine.requeue(message.messageID, queue: queue, now: now)
        }
        wakeups[message.system]?.signal()
        logger.info("Requeued failed message", [(BrokerLogKey.messageID, message.messageID), (LogKey.queue, queue.label)])
    }

    public var status: BrokerStatus {
        shared.withLock { shared in
            let detail: String
            if !shared.available {
                detail = "unavailable (simulated outage)"
            } else if shared.running {
                detail = "\(settings.consumersPerSystem) consumers per system"
            } else {
                detail = "consumers stopped"
            }
            return BrokerStatus(label: label, isUp: shared.available, detail: detail)
        }
    }

    /// Returns the queue of a task with an empty queue name: each system's
    /// default queue, and django-q's default cluster name.
    static func defaultQueue(of system: BrokerSystem) -> String {
        system == .celery ? CeleryDispatcher.brokerDefaultQueue : "default"
    }

    private static let outage = BrokerError(.unavailable, "the embedded broker is unavailable (a simulated outage)")

    // MARK: - Inspection

    /// Returns the counts of each queue so far, sorted by queue name.
    public func statistics() -> [EmbeddedQueueStatistics] {
        shared.withLock { $0.machine.statistics() }
    }

    /// Returns the record of a stored or recently removed message.
    public func message(id: String) -> EmbeddedMessageRecord? {
        shared.withLock { $0.machine.record(of: id) }
    }

    /// Returns recently removed (acknowledged or evicted) messages, newest first.
    public func recentMessages(limit: Int = 50) -> [EmbeddedMessageRecord] {
        shared.withLock { $0.machine.recentRecords(limit: limit) }
    }
}

/// Log metadata keys of the brokers library; the shared ones are in ``LogKey``.
enum BrokerLogKey {
    static let messageID = "message.id"
}
