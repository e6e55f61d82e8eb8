import Engine

/// A batch queued in an executor, to which the consumer reports.
struct TrackedBatch: Sendable {
    var batch: Batch
    let executor: BatchExecutor
}

/// One queue of one system.
struct QueueName: Hashable, Sendable {
    var system: BrokerSystem
    var name: String

    /// `system:queue`, e.g. `celery:cache-invalidation`.
    var label: String { "\(system.rawValue):\(name)" }
}

/// A message handed to a consumer.
struct Delivery: Sendable {
    var id: String
    var queue: QueueName
    var body: [UInt8]
    var tracked: TrackedBatch?
    /// 1 for the first delivery.
    var delivery: Int
    /// Set when the consumer is to be lost before acknowledging: a simulated
    /// Celery worker loss. The message stays in flight until its deadline.
    var abandoned: Bool
}

/// An executor call that a consumer makes for the machine, outside the lock.
enum ConsumerAction: Sendable {
    case markRetrying(TrackedBatch, BatchError)
    case fail(TrackedBatch, BatchError)
}

/// A consumer's next step.
enum NextStep: Sendable {
    case deliver(Delivery)
    /// Nothing is ready; look again at this time (seconds since the epoch),
    /// or when woken. Nil waits for a wake-up only.
    case idle(until: Double?)
}

/// The outcome a consumer applies to a delivered message.
enum Settlement: Sendable {
    /// Removes the message; the state is `done`, or `failed` for a failure
    /// the error policy did not propagate.
    case acknowledge(BatchState, error: String?)
    /// Puts the message back at the end of its queue.
    case redeliver(error: String)
    /// Puts the message in the delayed queue for `seconds`.
    case delay(seconds: Double, error: String)
    /// Moves the message to the failed list.
    case fail(error: String, deadLettered: Bool, undecodableReason: String?)
}

/// The embedded broker's queues and messages, as a state machine with no
/// I/O and no clock of its own: every call takes the time, and executor
/// calls come back as ``ConsumerAction`` values for the caller to perform.
struct EmbeddedBrokerState {
    static let historyCapacity = 128
    static let recentCapacity = 256

    private struct StoredMessage {
        let id: String
        let queue: QueueName
        let body: [UInt8]
        let options: JSONObject
        let sequence: UInt64
        var tracked: TrackedBatch?
        var deliveries = 0
        var state = BatchState.queued
        var history: [EmbeddedMessageTransition] = []
        var error: String?
        var failedAt: Double?
        var undecodableReason: String?
        var deadLettered = false
    }

    private struct QueueState {
        var ready = MessageFIFO()
        var inFlight = 0
        var delayed = 0
        var failed: [String] = []
        var statistics: EmbeddedQueueStatistics
    }

    private struct DelayedEntry {
        var due: Double
        var sequence: UInt64
        var id: String
    }

    let settings: EmbeddedBrokerSettings
    private var messages: [String: StoredMessage] = [:]
    private var queues: [QueueName: QueueState] = [:]
    /// Per system, ordered by due time, then enqueue order.
    private var delayed: [BrokerSystem: [DelayedEntry]] = [:]
    /// Per system, the acknowledgement deadline of each message in flight:
    /// infinity, except for a Celery message whose consumer was lost.
    private var deadlines: [BrokerSystem: [String: Double]] = [:]
    private var recent: [EmbeddedMessageRecord] = []
    private var recentNext = 0
    private var nextSequence: UInt64 = 0
    /// Celery deliveries still to be abandoned by a simulated worker loss.
    var pendingWorkerLosses = 0

    init(settings: EmbeddedBrokerSettings) {
        self.settings = settings
    }

    // MARK: - Storing

    /// Stores a new message at the end of its queue.
    mutating func store(id: String, queue: QueueName, body: [UInt8], options: JSONObject, tracked: TrackedBatch?, now: Double) {
        precondition(messages[id] == nil, "the embedded broker message id '\(id)' is already in use")
        nextSequence += 1
        var tracked = tracked
        tracked?.batch.payload = body
        var message = StoredMessage(id: id, queue: queue, body: body, options: options, sequence: nextSequence, tracked: tracked)
        record(.queued, on: &message, at: now)
        messages[id] = message
        queues[queue, default: QueueState(statistics: EmbeddedQueueStatistics(name: queue.label))].ready.append(id)
        queues[queue]?.statistics.enqueued += 1
    }

    /// Sets the engine batch a message reports to, with its stored bytes as the batch payload.
    mutating func track(_ id: String, _ tracked: TrackedBatch) {
        var tracked = tracked
        tracked.batch.payload = messages[id]?.body
        messages[id]?.tracked = tracked
    }

    // MARK: - Delivering

    /// Moves due retries to their queues, returns overdue Celery messages to
    /// theirs, and hands out the oldest ready message of `system`.
    mutating func nextStep(for system: BrokerSystem, now: Double) -> (NextStep, [ConsumerAction]) {
        promoteDueRetries(of: system, now: now)
        let actions = expireDeadlines(of: system, now: now)

        guard let queue = queueWithOldestReady(of: system), let id = queues[queue]?.ready.popFirst(),
            var message = messages[id]
        else {
            let nextDue = delayed[system]?.first?.due
            let nextDeadline = deadlines[system]?.values.filter(\.isFinite).min()
            let wake = [nextDue, nextDeadline].compactMap { $0 }.min()
            return (.idle(until: wake), actions)
        }

        message.deliveries += 1
        let abandoned = system == .celery && pendingWorkerLosses > 0
        if abandoned {
            pendingWorkerLosses -= 1
            queues[queue]?.statistics.workerLosses += 1
        }
        record(.running, on: &message, at: now, note: abandoned ? "the consumer was lost before acknowledging" : nil)
        messages[id] = message
        queues[queue]?.inFlight += 1
        queues[queue]?.statistics.delivered += 1

        // Only a lost consumer's message gets a deadline. Celery would also
        // deliver a task that runs past its visibility timeout a second time,
        // but here a running batch keeps its message, so that each batch runs
        // at most once at a time and its outcome is reported once.
        let deadline = abandoned ? now + settings.celeryVisibilityTimeout : Double.infinity
        deadlines[system, default: [:]][id] = deadline
        let delivery = Delivery(
            id: id, queue: queue, body: message.body, tracked: message.tracked, delivery: message.deliveries,
            abandoned: abandoned)
        return (.deliver(delivery), actions)
    }

    private func queueWithOldestReady(of system: BrokerSystem) -> QueueName? {
        var best: (queue: QueueName, sequence: UInt64)?
        for (name, queue) in queues where name.system == system {
            guard let head = queue.ready.first, let sequence = messages[head]?.sequence else { continue }
            if sequence < best?.sequence ?? .max {
                best = (name, sequence)
            }
        }
        return best?.queue
    }

    private mutating func promoteDueRetries(of system: BrokerSystem, now: Double) {
        while let entry = delayed[system]?.first, entry.due <= now {
            delayed[system]?.removeFirst()
            guard let message = messages[entry.id] else { continue }
            queues[message.queue]?.delayed -= 1
            queues[message.queue]?.ready.append(entry.id)
        }
    }

    /// Applies Celery's visibility timeout: a message not acknowledged by its
    /// deadline goes back to its queue, or fails once out of redeliveries.
    private mutating func expireDeadlines(of system: BrokerSystem, now: Double) -> [ConsumerAction] {
        guard let overdue = deadlines[system]?.filter({ $0.value <= now }).keys.sorted(), !overdue.isEmpty else { return [] }
        var actions: [ConsumerAction] = []
        for id in overdue {
            guard let message = messages[id] else { continue }
            var tracked = message.tracked
            tracked?.batch.attempt = message.deliveries
            let timeout = settings.celeryVisibilityTimeout
            if message.deliveries <= settings.celeryMaxRedeliveries {
                let note = "not acknowledged within \(timeout) s; delivered again"
                settle(id, .redeliver(error: note), now: now)
                queues[message.queue]?.statistics.expired += 1
                if let tracked {
                    actions.append(.markRetrying(tracked, BatchError(kind: .worker, message: note)))
                }
            } else {
                let note = "not acknowledged within \(timeout) s after \(message.deliveries) deliveries"
                settle(id, .fail(error: note, deadLettered: false, undecodableReason: nil), now: now)
                queues[message.queue]?.statistics.expired += 1
                if let tracked {
                    actions.append(.fail(tracked, BatchError(kind: .worker, message: note)))
                }
            }
        }
        return actions
    }

    // MARK: - Settling

    /// Settles a delivered message; a message no longer stored is left alone.
    mutating func settle(_ id: String, _ settlement: Settlement, now: Double) {
        guard var message = messages[id] else { return }
        let queue = message.queue
        if deadlines[queue.system]?.removeValue(forKey: id) != nil {
            queues[queue]?.inFlight -= 1
        }
        switch settlement {
        case .acknowledge(let state, let error):
            message.error = error
            record(state, on: &message, at: now, note: error)
            if state == .done {
                queues[queue]?.statistics.acknowledged += 1
            } else {
                queues[queue]?.statistics.acknowledgedFailures += 1
            }
            messages[id] = nil
            remember(message, stored: false)
        case .redeliver(let error):
            message.error = error
            record(.retrying, on: &message, at: now, note: error)
            messages[id] = message
            queues[queue]?.ready.append(id)
            queues[queue]?.statistics.retried += 1
        case .delay(let seconds, let error):
            message.error = error
            record(.retrying, on: &message, at: now, note: "delivered again in \(Int((seconds * 1000).rounded())) ms: \(error)")
            messages[id] = message
            scheduleRetry(id, queue: queue, due: now + seconds, sequence: message.sequence)
            queues[queue]?.statistics.retried += 1
        case .fail(let error, let deadLettered, let reason):
            message.error = error
            message.failedAt = now
            message.undecodableReason = reason
            message.deadLettered = deadLettered
            record(deadLettered ? .dead : .failed, on: &message, at: now, note: error)
            messages[id] = message
            moveToFailed(message, queue: queue)
        }
    }

    private mutating func scheduleRetry(_ id: String, queue: QueueName, due: Double, sequence: UInt64) {
        var entries = delayed[queue.system] ?? []
        let index = entries.firstIndex { ($0.due, $0.sequence) > (due, sequence) } ?? entries.count
        entries.insert(DelayedEntry(due: due, sequence: sequence, id: id), at: index)
        delayed[queue.system] = entries
        queues[queue]?.delayed += 1
    }

    private mutating func moveToFailed(_ message: StoredMessage, queue: QueueName) {
        queues[queue]?.failed.append(message.id)
        queues[queue]?.statistics.failed += 1
        if message.deadLettered { queues[queue]?.statistics.deadLettered += 1 }
        if message.undecodableReason != nil { queues[queue]?.statistics.undecodable += 1 }
        while let failed = queues[queue]?.failed, failed.count > settings.failedCapacity {
            let oldest = failed[0]
            queues[queue]?.failed.removeFirst()
            queues[queue]?.statistics.evicted += 1
            if let evicted = messages.removeValue(forKey: oldest) {
                remember(evicted, stored: false)
            }
        }
    }

    /// Moves a failed message back to the end of its queue with its body and
    /// options unchanged. Its retry count starts again, and the consumer
    /// registers it with the engine as a new batch.
    mutating func requeue(_ id: String, queue: QueueName, now: Double) throws(BrokerError) {
        guard var message = messages[id], message.queue == queue,
            let index = queues[queue]?.failed.firstIndex(of: id)
        else {
            throw BrokerError(.notFound, "no failed message '\(id)' on the embedded queue '\(queue.label)'")
        }
        queues[queue]?.failed.remove(at: index)
        message.tracked = nil
        message.deliveries = 0
        message.error = nil
        message.failedAt = nil
        message.undecodableReason = nil
        message.deadLettered = false
        record(.queued, on: &message, at: now, note: "requeued from the failed list")
        messages[id] = message
        queues[queue]?.ready.append(id)
        queues[queue]?.statistics.requeued += 1
    }

    /// Puts every message still in flight back at the end of its queue, as
    /// a Celery worker's warm shutdown restores its unacknowledged messages.
    mutating func restoreInFlight(now: Double) {
        for system in BrokerSystem.allCases {
            for id in (deadlines[system] ?? [:]).keys.sorted() {
                guard var message = messages[id] else { continue }
                deadlines[system]?[id] = nil
                queues[message.queue]?.inFlight -= 1
                record(.queued, on: &message, at: now, note: "restored when the consumers stopped")
                messages[id] = message
                queues[message.queue]?.ready.append(id)
            }
        }
    }

    // MARK: - History

    private func record(_ state: BatchState, on message: inout StoredMessage, at now: Double, note: String? = nil) {
        message.state = state
        message.history.append(EmbeddedMessageTransition(state: state, at: now, delivery: message.deliveries, note: note))
        if message.history.count > Self.historyCapacity {
            message.history.removeFirst(message.history.count - Self.historyCapacity)
        }
    }

    private mutating func remember(_ message: StoredMessage, stored: Bool) {
        let record = Self.record(of: message, stored: stored)
        if recent.count < Self.recentCapacity {
            recent.append(record)
        } else {
            recent[recentNext] = record
        }
        recentNext = (recentNext + 1) % Self.recentCapacity
    }

    private static func record(of message: StoredMessage, stored: Bool) -> EmbeddedMessageRecord {
        EmbeddedMessageRecord(
            id: message.id, system: message.queue.system, queue: message.queue.name, batchID: message.tracked?.batch.id,
            state: message.state, deliveries: message.deliveries, history: message.history, error: message.error,
            isStored: stored)
    }

    // MARK: - Reading

    /// Returns the record of a stored or recently removed message.
    func record(of id: String) -> EmbeddedMessageRecord? {
        if let message = messages[id] { return Self.record(of: message, stored: true) }
        return recent.last { $0.id == id }
    }

    /// Recently removed messages, newest first.
    func recentRecords(limit: Int) -> [EmbeddedMessageRecord] {
        let ordered = recent.count < Self.recentCapacity
            ? recent : Array(recent[recentNext...] + recent[..<recentNext])
        return Array(ordered.reversed().prefix(limit))
    }

    func depths(now: Double) -> [QueueDepth] {
        queues.map { name, queue in
            QueueDepth(
                name: name.label, source: "embedded", ready: queue.ready.count, inFlight: queue.inFlight,
                delayed: queue.delayed, failed: queue.failed.count, readAt: now)
        }.sorted { $0.name < $1.name }
    }

    func statistics() -> [EmbeddedQueueStatistics] {
        queues.values.map(\.statistics).sorted { $0.name < $1.name }
    }

    /// Failed and dead-lettered messages, newest first, with their stored
    /// bytes: of the queue `only` names, or of every queue when it is nil.
    func failedMessages(limit: Int, in only: QueueName? = nil) -> [FailedMessage] {
        let listed = only.map { name in queues[name].map { [$0] } ?? [] } ?? Array(queues.values)
        let failed = listed.flatMap(\.failed).compactMap { messages[$0] }
            .sorted { ($0.failedAt ?? 0, $0.sequence) > ($1.failedAt ?? 0, $1.sequence) }
        return failed.prefix(max(0, limit)).map { message in
            let batch = message.tracked?.batch ?? (try? EmbeddedMessageCoding.decode(message.body).get())?.batch
            return FailedMessage(
                system: message.queue.system, queue: message.queue.name, messageID: message.id, body: message.body,
                batch: batch, error: message.error, failedAt: message.failedAt, attempts: message.deliveries,
                undecodableReason: message.undecodableReason, options: message.options)
        }
    }

    /// Whether nothing is ready, in flight or delayed.
    var isDrained: Bool {
        queues.values.allSatisfy { $0.ready.count == 0 && $0.inFlight == 0 && $0.delayed == 0 }
    }
}

/// A first-in, first-out list of message ids that drops taken entries in bulk.
struct MessageFIFO {
    private var items: [String] = []
    private var head = 0

    var count: Int { items.count - head }
    var first: String? { head < items.count ? items[head] : nil }

    mutating func append(_ id: String) {
        items.append(id)
    }

    mutating func popFirst() -> String? {
        guard head < items.count else { return nil }
        let id = items[head]
        head += 1
        if head > 1024 && head * 2 > items.count {
            items.removeFirst(head)
            head = 0
        }
        return id
    }
}
