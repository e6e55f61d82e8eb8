import Engine
import Foundation
import Synchronization

/// Resends the dispatches that waited in the failure journal's outbox while
/// Redis was down, oldest first, once Redis is reachable again.
///
/// An entry whose batch carries its encoded payload is sent byte for byte;
/// one without is encoded now from the task that ``taskForBatch`` rebuilds.
/// A pass sends its entries in one pipeline through
/// ``RedisBroker/deliver(_:)``, the RQ jobs of each group in one transaction,
/// and then handles each entry's outcome in order.
/// A pass stops at the first `unavailable` error and the background loop
/// waits before the next one, doubling the wait from
/// ``Options/initialDelay`` up to ``Options/maximumDelay``. An entry that
/// Redis rejects for another reason, or that cannot be rebuilt, is moved to
/// the failure journal so that one bad entry does not block the rest. An
/// entry that did not run because Redis rejected another entry of its
/// transaction stays for the next pass.
///
/// - Important: when the connection breaks during a pass, the entries whose
///   replies were not read stay in the outbox, although Redis may have
///   stored some of them. The next pass sends those again, so a worker can
///   run such a batch twice.
public final class OutboxDrainer: Sendable {
    /// Delays in seconds.
    public struct Options: Sendable {
        public var initialDelay: Double
        public var maximumDelay: Double
        /// The wait between passes while the outbox is empty.
        public var idleInterval: Double
        /// Entries read from the journal per pass.
        public var batchLimit: Int

        public init(initialDelay: Double = 0.5, maximumDelay: Double = 30, idleInterval: Double = 1, batchLimit: Int = 100) {
            self.initialDelay = initialDelay
            self.maximumDelay = maximumDelay
            self.idleInterval = idleInterval
            self.batchLimit = batchLimit
        }
    }

    /// The outcome of one pass.
    public struct Pass: Sendable, Equatable {
        public var sent = 0
        /// Entries moved to the failure journal.
        public var rejected = 0
        /// True when the pass stopped because Redis was unreachable.
        public var stoppedByOutage = false
        /// Entries still in the outbox after the pass.
        public var remaining = 0
    }


    public let options: Options
    private let journal: FailureJournal
    private let broker: RedisBroker
    private let taskForBatch: @Sendable (Batch) -> TaskMessage?
    private let fingerprints: @Sendable (Batch) -> [String: String]
    private let logger: Logger
    private let clock: @Sendable () -> Double
    private let onSent: @Sendable (Batch) -> Void
    private let running = Mutex(false)
    private let wakeUp = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)

    /// - Parameters:
    ///   - taskForBatch: rebuilds the task a broker dispatcher would send for a batch; nil when it cannot.
    ///   - fingerprints: the rule fingerprints to journal with a rejected batch.
    ///   - onSent: called with each batch once Redis has taken it.
    public init(
        journal: FailureJournal, broker: RedisBroker, options: Options = Options(), logger: Logger = .disabled,
        clock: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 },
        fingerprints: @escaping @Sendable (Batch) -> [String: String] = { _ in [:] },
        onSent: @escaping @Sendable (Batch) -> Void = { _ in },
        taskForBatch: @escaping @Sendable (Batch) -> TaskMessage?
    ) {
        self.onSent = onSent
        self.journal = journal
        self.broker = broker
        self.options = options
        self.logger = logger
        self.clock = clock
        self.fingerprints = fingerprints
        self.taskForBatch = taskForBatch
    }

    /// Entries waiting in the outbox.
    public var waiting: Int { journal.outboxCount() }

    /// This drainer's name on the outbox entries it claims, unique per process and drainer.
    private let claimOwner = "\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString)"

    /// How long a claim holds, in seconds. A pass of 100 entries takes
    /// milliseconds. Even if each of its seven groups' replies came just
    /// before the 5 s command timeout, it would end within about 40 s (an
    /// estimate from the timeouts, not a measurement). So only a process
    /// that died while sending leaves entries claimed, and then for at most
    /// this long before another process sends them.
    static let claimLease = 60.0

    // MARK: - One pass

    /// Sends up to ``Options/batchLimit`` entries, oldest first, and stops at the first outage.
    @discardableResult
    public func drainOnce() -> Pass {
        var pass = Pass()
        let entries: [(id: Int64, batch: Batch)]
        do {
            // Claimed, so that another process draining the same journal
            // (a second replay, a console with --write) skips them.
            let now = clock()
            entries = try journal.claimOutboxEntries(
                limit: options.batchLimit, owner: claimOwner, until: now + Self.claimLease, now: now)
        } catch {
            logger.info("Outbox read failed", [(LogKey.error, error.description)])
            pass.remaining = journal.outboxCount()
            return pass
        }
        // Entries left after the pass (an outage, a transaction Redis did
        // not run) are free for the next pass of any process.
        defer {
            do {
                try journal.releaseOutboxClaims(owner: claimOwner)
            } catch {
                logger.info("Cannot release outbox claims; they run out within a minute", [(LogKey.error, error.description)])
            }
        }
        let outcomes = send(entries.map(\.batch))
        for (entry, outcome) in zip(entries, outcomes) {
            switch outcome {
            case .sent:
                try? journal.removeFromOutbox(entry.id)
                pass.sent += 1
                onSent(entry.batch)
            case .failed(let error) where error.kind == .unavailable:
                pass.stoppedByOutage = true
            case .failed(let error):
                reject(entry, error: error.message)
                pass.rejected += 1
            case .notRun:
                // NOTE: the entry stays for the next pass, so the entries sent
                // after it in this pass reach Redis before it.
                continue
            }
            if pass.stoppedByOutage { break }
        }
        pass.remaining = journal.outboxCount()
        if pass.sent > 0 {
            logger.info("Outbox entries sent", [(LogKey.count, String(pass.sent)), ("outbox.remaining", String(pass.remaining))])
        }
        return pass
    }

    /// Sends the batches in one pipelined ``RedisBroker/deliver(_:)`` and
    /// returns each one's outcome. A batch with no task to rebuild is rejected without being sent.
    private func send(_ batches: [Batch]) -> [RedisBroker.DeliveryOutcome] {
        let tasks = batches.map(taskForBatch)
        var delivered = broker.deliver(
            zip(batches, tasks).compactMap { batch, task in task.map { ($0, batch.payload) } }
        ).makeIterator()
        return zip(batches, tasks).map { batch, task in
            guard task != nil else {
                let reason = "The batch names dispatcher '\(batch.dispatcher)', which has no broker task to rebuild."
                return .failed(BrokerError(.rejected, reason))
            }
            // deliver returns one outcome per message, in order.
            return delivered.next()!
        }
    }

    private func reject(_ entry: (id: Int64, batch: Batch), error message: String) {
        let error = BatchError(kind: .broker, message: "Outbox resend failed: \(message)")
        do {
            try journal.record(
                entry.batch, error: error, attempts: entry.batch.attempt, ruleFingerprints: fingerprints(entry.batch),
                at: clock(), broker: broker.label)
            try journal.removeFromOutbox(entry.id)
        } catch {
            logger.info("Outbox entry could not be journalled", [(LogKey.journalID, String(entry.id)), (LogKey.error, error.description)])
            return
        }
        logger.info(
            "Outbox entry rejected and journalled",
            [(LogKey.batchID, String(entry.batch.id)), (LogKey.error, message)])
    }

    // MARK: - Background loop

    /// Starts draining on a background thread; does nothing when already started.
    public func start() {
        let thread = Thread { [self] in
            runLoop()
            finished.signal()
        }
        thread.name = "dispatchtop.outbox"
        let started = running.withLock { running -> Bool in
            guard !running else { return false }
            running = true
            return true
        }
        if started { thread.start() }
    }

    /// Stops the background thread and waits for its current pass to end.
    public func stop() {
        let wasRunning = running.withLock { running -> Bool in
            defer { running = false }
            return running
        }
        guard wasRunning else { return }
        wakeUp.signal()
        finished.wait()
    }

    private var isRunning: Bool { running.withLock { $0 } }

    private func runLoop() {
        var delay = options.initialDelay
        while isRunning {
            let pass = drainOnce()
            let wait: Double
            if pass.stoppedByOutage {
                logger.debug("Outbox waiting for Redis", [(LogKey.delay, String(Int(delay * 1000)))])
                wait = delay
                delay = min(delay * 2, options.maximumDelay)
            } else {
                delay = options.initialDelay
                wait = pass.remaining > 0 && pass.sent + pass.rejected > 0 ? 0 : options.idleInterval
            }
            if wait > 0 {
                _ = wakeUp.wait(timeout: .now() + wait)
            }
        }
    }
}
