import Dispatch
import Foundation
import Synchronization

/// What the engine reports about each batch that ends.
public struct FinishedBatch: Sendable {
    public var batch: Batch
    public var outcome: BatchOutcome
    public var finishedAt: Double
}

/// Runs batches and records every state change: the live batch list, the
/// metrics and, for failures, the journal (before anything else).
///
/// Dispatchers and broker consumers call it from any thread.
public final class BatchExecutor: Sendable {
    let runner: RuleRunner
    let tracker: BatchTracker
    public let journal: FailureJournal?
    let faults: FaultInjector
    let logger: Logger
    let clock: @Sendable () -> Double
    let observer: (@Sendable (FinishedBatch) -> Void)?
    /// Entered when a batch is queued, left when it ends. Only batches that
    /// the tracker keeps as live are counted, so enters and leaves stay
    /// paired even for a batch run without being queued or reported twice.
    let pending = DispatchGroup()
    /// Journal ids of batches that failed and will be delivered again.
    private let retryEntries = Mutex<[UInt64: Int64]>([:])
    /// The number of entries in `retryEntries`, so a batch that succeeds
    /// skips that lock when no batch waits for a retry.
    private let retryEntryCount = Atomic<Int>(0)
    private let waiters = Mutex<[UInt64: OutcomeWaiter]>([:])
    /// The number of entries in `waiters`, so a finishing batch skips the
    /// lock when nobody waits, which is nearly always.
    private let waiterCount = Atomic<Int>(0)

    /// The label of the broker that broker dispatchers send to, journalled with their failures.
    let brokerLabel: String?
    /// Whether that broker's workers run in another process, so that its
    /// batches never run against this process's cache store.
    let brokerIsRemote: Bool

    init(
        runner: RuleRunner, tracker: BatchTracker, journal: FailureJournal?, faults: FaultInjector, logger: Logger,
        clock: @escaping @Sendable () -> Double, observer: (@Sendable (FinishedBatch) -> Void)?, brokerLabel: String? = nil,
        brokerIsRemote: Bool = false
    ) {
        self.brokerLabel = brokerLabel
        self.brokerIsRemote = brokerIsRemote
        self.runner = runner
        self.tracker = tracker
        self.journal = journal
        self.faults = faults
        self.logger = logger
        self.clock = clock
        self.observer = observer
    }

    /// The current time, seconds since the Unix epoch.
    public var now: Double { clock() }

    /// Records a new batch as queued. The engine calls this before handing
    /// the batch to its dispatcher.
    func queued(_ batch: Batch) {
        pending.enter()
        if !tracker.queued(batch, at: batch.createdAt) {
            pending.leave()
        }
    }

    /// Runs the batch's rules on the calling thread and records the outcome.
    ///
    /// - Parameter willRetryOnFailure: the broker delivers it again when it
    ///   fails, so a failure is journalled as retrying and the batch stays live.
    @discardableResult
    public func run(_ batch: Batch, willRetryOnFailure: Bool = false) -> BatchOutcome {
        tracker.started(batch, at: clock())
        let error = faults.apply(for: batch.dispatcher) ?? runner.run(batch)
        guard let error else {
            succeeded(batch)
            return .done
        }
        fail(batch, error: error, willRetry: willRetryOnFailure)
        return .failed(error)
    }

    /// Runs a batch that was not recorded as queued, on the calling thread,
    /// for dispatchers whose ``Dispatcher/runsOnCallingThread`` is true.
    ///
    /// A plain success is recorded with one update (figures and the recent
    /// list); a failure, a replay, or a batch with an injected fault takes
    /// the full path, so it shows as running and is journalled as usual.
    @discardableResult
    public func runOnCallingThread(_ batch: Batch) -> BatchOutcome {
        if batch.replayOf != nil || faults.setting(for: batch.dispatcher) != nil {
            queued(batch)
            return run(batch)
        }
        let started = clock()
        if let error = runner.run(batch) {
            failedOnCallingThread(batch, error: error, startedAt: started)
            return .failed(error)
        }
        let finished = clock()
        tracker.ranOnCallingThread(batch, startedAt: started, finishedAt: finished)
        observer?(FinishedBatch(batch: batch, outcome: .done, finishedAt: finished))
        return .done
    }

    /// Records a batch that failed on the calling thread without being
    /// queued. It is queued, started and failed in turn, so it shows and is
    /// journalled as any failed batch.
    func failedOnCallingThread(_ batch: Batch, error: BatchError, startedAt: Double) {
        queued(batch)
        tracker.started(batch, at: startedAt)
        fail(batch, error: error, willRetry: false)
    }

    /// Returns whether the engine may run an inline rule without building
    /// its batch first, which is the case when no fault is injected for
    /// `dispatcher` and no caller waits for an outcome. A batch is still built when the run fails or when an
    /// observer wants each finished batch.
    func allowsInlineShortcut(for dispatcher: String) -> Bool {
        waiterCount.load(ordering: .acquiring) == 0 && faults.setting(for: dispatcher) == nil
    }

    /// Records inline runs that succeeded, in dispatch order. `batch` builds
    /// a run's batch value only when an observer is there to receive it.
    func ranInline(_ runs: UnsafeBufferPointer<BatchTracker.InlineRun>, batch: (BatchTracker.InlineRun) -> Batch) {
        tracker.ranInline(runs)
        guard let observer else { return }
        for run in runs {
            observer(FinishedBatch(batch: batch(run), outcome: .done, finishedAt: run.finishedAt))
        }
    }

    /// Records that the batch was handed to an external broker that reports
    /// no outcome back to this process.
    public func markSent(_ batch: Batch) {
        if let replayOf = batch.replayOf {
            try? journal?.markResolved(replayOf, resolution: "sent", at: clock())
        }
        finish(batch, .sent, error: nil)
    }

    /// Records that the broker was unreachable and the batch now waits in
    /// the journal's outbox; the caller has already stored it there.
    public func markInOutbox(_ batch: Batch) {
        finish(batch, .outbox, error: nil)
    }

    /// Records that a batch from the outbox reached the broker. Only
    /// batches this process dispatched are matched (by id and creation time).
    /// A replay's journal entry is resolved, whichever process replayed it,
    /// so a later replay does not send it again.
    public func markOutboxSent(_ batch: Batch) {
        if let replayOf = batch.replayOf {
            do {
                try journal?.markResolved(replayOf, resolution: "sent", at: clock())
            } catch {
                logger.error("Cannot mark a journal entry resolved", [(LogKey.journalID, String(replayOf)), (LogKey.error, "\(error)")])
            }
        }
        tracker.outboxSent(batch)
    }

    /// Records a failure that happened outside the rules: a broker that
    /// rejected the message, a payload that could not be decoded, a dead letter.
    public func fail(_ batch: Batch, error: BatchError, willRetry: Bool, deadLettered: Bool = false) {
        let time = clock()
        journalFailure(batch, error: error, willRetry: willRetry, deadLettered: deadLettered, at: time)
        let metadata = [
            (LogKey.batchID, String(batch.id)), (LogKey.dispatcher, batch.dispatcher),
            (LogKey.attempt, String(batch.attempt)), (LogKey.error, error.description),
        ]
        if willRetry {
            logger.info("Batch failed, the broker will retry it", metadata)
            tracker.retrying(batch, error: error, at: time)
            return
        }
        logger.warning(deadLettered ? "Batch dead-lettered" : "Batch failed", metadata)
        finish(batch, deadLettered ? .dead : .failed, error: error)
    }

    /// Records that a broker moved a batch's retry to its delayed queue.
    public func markRetrying(_ batch: Batch, error: BatchError) {
        tracker.retrying(batch, error: error, at: clock())
    }

    // MARK: - Outcomes

    private func succeeded(_ batch: Batch) {
        let time = clock()
        if retryEntryCount.load(ordering: .acquiring) > 0, let entry = removeRetryEntry(batch.id) {
            resolve(entry, resolution: "retry", at: time)
        }
        if let replayOf = batch.replayOf {
            resolve(replayOf, resolution: "replay", at: time)
        }
        finish(batch, .done, error: nil)
    }

    private func removeRetryEntry(_ batchID: UInt64) -> Int64? {
        retryEntries.withLock { entries in
            let entry = entries.removeValue(forKey: batchID)
            if entry != nil { retryEntryCount.subtract(1, ordering: .releasing) }
            return entry
        }
    }

    private func resolve(_ entry: Int64, resolution: String, at time: Double) {
        do {
            try journal?.markResolved(entry, resolution: resolution, at: time)
        } catch {
            logger.error("Cannot mark a journal entry resolved", [(LogKey.journalID, String(entry)), (LogKey.error, "\(error)")])
        }
    }

    private func journalFailure(_ batch: Batch, error: BatchError, willRetry: Bool, deadLettered: Bool, at time: Double) {
        guard let journal else { return }
        let status: FailureStatus = willRetry ? .retrying : .open
        do {
            if let entry = willRetry ? retryEntries.withLock({ $0[batch.id] }) : removeRetryEntry(batch.id) {
                try journal.recordAttempt(entry, error: error, attempts: batch.attempt, status: status, at: time, deadLettered: deadLettered)
            } else if let replayOf = batch.replayOf {
                try journal.recordAttempt(replayOf, error: error, attempts: batch.attempt, status: .open, at: time, deadLettered: deadLettered)
            } else {
                var fingerprints: [String: String] = [:]
                for id in batch.ruleIDs {
                    fingerprints[id] = runner.rules.rule(id: id)?.fingerprint
                }
                // Only batches handed to a broker depend on which broker a replay uses.
                let dispatcher = batch.ruleIDs.first.flatMap { runner.rules.dispatcher(forRule: $0) }
                let sentToBroker = dispatcher.map { !$0.runsInProcess } ?? false
                // A batch for a remote broker's workers never ran against this cache store.
                let cache = sentToBroker && brokerIsRemote ? nil : runner.cache.store.label
                let entry = try journal.record(
                    batch, error: error, attempts: batch.attempt, status: status, ruleFingerprints: fingerprints, at: time,
                    deadLettered: deadLettered, cache: cache, broker: sentToBroker ? brokerLabel : nil)
                if willRetry {
                    retryEntries.withLock { entries in
                        if entries.updateValue(entry, forKey: batch.id) == nil {
                            retryEntryCount.add(1, ordering: .releasing)
                        }
                    }
                }
            }
        } catch {
            // The journal is the durable copy; when it cannot be written, the
            // log file keeps the whole batch so nothing is lost.
            logger.error(
                "Cannot journal a failed batch",
                [(LogKey.batchID, String(batch.id)), (LogKey.error, "\(error)"),
                 ("batch", JSONWriter.string(.object(BatchCoding.encode(batch))))])
        }
    }

    private func finish(_ batch: Batch, _ state: BatchState, error: BatchError?) {
        let time = clock()
        let wasLive = tracker.finished(batch, state: state, error: error, at: time)
        let outcome: BatchOutcome
        switch (error, state) {
        case (let error?, _): outcome = .failed(error)
        case (nil, .sent): outcome = .sent
        case (nil, .outbox): outcome = .outbox
        default: outcome = .done
        }
        observer?(FinishedBatch(batch: batch, outcome: outcome, finishedAt: time))
        if waiterCount.load(ordering: .acquiring) > 0, let waiter = removeWaiter(batch.id) {
            waiter.deliver(outcome)
        }
        if wasLive {
            pending.leave()
        }
    }

    // MARK: - Waiting

    /// Registers interest in a batch's outcome; call before dispatching it.
    func expectOutcome(of batchID: UInt64) -> OutcomeWaiter {
        let waiter = OutcomeWaiter()
        waiters.withLock { waiters in
            if waiters.updateValue(waiter, forKey: batchID) == nil {
                waiterCount.add(1, ordering: .releasing)
            }
        }
        return waiter
    }

    /// Drops interest registered with ``expectOutcome(of:)``.
    func forgetOutcome(of batchID: UInt64) {
        _ = removeWaiter(batchID)
    }

    private func removeWaiter(_ batchID: UInt64) -> OutcomeWaiter? {
        waiters.withLock { waiters in
            let waiter = waiters.removeValue(forKey: batchID)
            if waiter != nil { waiterCount.subtract(1, ordering: .releasing) }
            return waiter
        }
    }

    /// Blocks until every queued batch has ended or `timeout` seconds pass;
    /// returns whether all ended.
    public func waitUntilIdle(timeout: Double) -> Bool {
        pending.wait(timeout: .now() + timeout) == .success
    }
}

/// A one-shot hand-over of a batch outcome to a waiting thread.
final class OutcomeWaiter: Sendable {
    private let semaphore = DispatchSemaphore(value: 0)
    private let outcome = Mutex<BatchOutcome?>(nil)

    func deliver(_ value: BatchOutcome) {
        outcome.withLock { $0 = value }
        semaphore.signal()
    }

    /// The outcome, or nil when `timeout` seconds pass first.
    func wait(timeout: Double) -> BatchOutcome? {
        guard semaphore.wait(timeout: .now() + timeout) == .success else { return nil }
        return outcome.withLock { $0 }
    }
}
