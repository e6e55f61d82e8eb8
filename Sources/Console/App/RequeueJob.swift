import Brokers
import Engine
import Foundation

/// The progress of a requeue of a queue's failed messages, drawn in the
/// requeue window.
public struct RequeueJobStatus: Sendable, Equatable {
    /// "Requeue of 3 failed messages of dramatiq:cache-invalidation".
    /// `system:queue`, as the Queues pane names it.
    public var queue: String
    public var title: String
    public var brokerLabel: String
    public var total: Int
    public var requeued = 0
    public var failed = 0
    /// The broker's id of the last message handled, and its error when its requeue failed.
    public var lastMessageID: String?
    public var lastError: String?
    public var stopping = false
    public var isFinished = false

    public init(queue: String, title: String, brokerLabel: String, total: Int) {
        self.queue = queue
        self.title = title
        self.brokerLabel = brokerLabel
        self.total = total
    }

    public var completed: Int { requeued + failed }

    /// "3 of 3 messages: 3 requeued, 0 failed."
    public var closingLine: String {
        let messages = total == 1 ? "message" : "messages"
        return "\(completed) of \(total) \(messages): \(requeued) requeued, \(failed) failed."
    }
}

extension RequeueJobStatus: BackgroundJobStatus {}

/// A requeue of failed messages at the broker, run as a ``BackgroundJob``:
/// each message is one broker round trip.
enum RequeueJob {
    /// The most failed messages read from the broker per round when a
    /// requeue goes on past the listed ones.
    static let roundSize = 500

    /// Starts the requeue. A message whose batch has an open entry in
    /// `journal` resolves that entry once it is back in its queue: its next
    /// run is a new batch, which the journal records anew if it fails.
    static func start(
        _ request: RequeueRequest, broker: any MessageBroker, journal: FailureJournal? = nil, logger: Logger
    ) -> BackgroundJob<RequeueJobStatus> {
        let count = request.expectedCount
        let title = count == 1 && request.messages.count == 1
            ? "Requeue of failed message \(request.messages[0].messageID)"
            : "Requeue of \(count) failed messages of \(request.queue)"
        let status = RequeueJobStatus(queue: request.queue, title: title, brokerLabel: request.brokerLabel, total: count)
        return BackgroundJob(threadName: "console-requeue", status: status) { job in
            let handover = JournalHandover(journal: journal, logger: logger)
            run(request, broker: broker, handover: handover, logger: logger, job: job)
            job.update { $0.isFinished = true }
        }
    }

    private static func run(
        _ request: RequeueRequest, broker: any MessageBroker, handover: JournalHandover, logger: Logger,
        job: BackgroundJob<RequeueJobStatus>
    ) {
        logger.info("Requeue started", [
            (LogKey.queue, request.queue), (LogKey.count, String(request.expectedCount)),
            (ConsoleLogKey.drainsQueue, String(request.drainsQueue)),
        ])
        var tried = Set<String>()
        var round = request.messages
        // A message that fails again at once comes back to the failed list
        // under the same id; `tried` keeps it from being requeued twice.
        while !round.isEmpty {
            for message in round {
                if job.stop.isStopped { break }
                tried.insert(message.messageID)
                if requeue(message, request: request, broker: broker, logger: logger, job: job) {
                    handover.resolve(message)
                }
            }
            guard request.drainsQueue, !job.stop.isStopped, let first = request.messages.first else { break }
            round = broker.failedMessages(system: first.system, queue: first.queue, limit: roundSize)
                .filter { !tried.contains($0.messageID) }
            let known = tried.count + round.count
            job.update { $0.total = max($0.total, known) }
        }
        if !job.stop.isStopped {
            // The broker's count may have included messages gone since.
            job.update { $0.total = $0.completed }
        }
        let finished = job.status
        logger.info("Requeue finished", [
            (LogKey.queue, request.queue), (ConsoleLogKey.requeued, String(finished.requeued)),
            (ConsoleLogKey.failed, String(finished.failed)), (ConsoleLogKey.stopped, String(job.stop.isStopped)),
        ])
    }

    /// Requeues one message and returns whether the broker took it back.
    private static func requeue(
        _ message: FailedMessage, request: RequeueRequest, broker: any MessageBroker, logger: Logger,
        job: BackgroundJob<RequeueJobStatus>
    ) -> Bool {
        do {
            try broker.requeue(message)
            job.update { status in
                status.requeued += 1
                status.lastMessageID = message.messageID
                status.lastError = nil
            }
            return true
        } catch {
            logger.warning("Requeue failed", [
                (ConsoleLogKey.messageID, message.messageID), (LogKey.queue, request.queue), (LogKey.error, error.message),
            ])
            job.update { status in
                status.failed += 1
                status.lastMessageID = message.messageID
                status.lastError = error.message
            }
            return false
        }
    }
}

/// Resolves the journal entries of the batches a requeue sends back.
///
/// NOTE: entries are matched by batch id among the journal's newest
/// summaries, at most 20,000 by default. An older open entry of a
/// requeued batch stays open.
struct JournalHandover {
    let journal: FailureJournal?
    let logger: Logger
    /// Open journal entries by the id of their batch.
    private let openEntries: [UInt64: Int64]

    init(journal: FailureJournal?, logger: Logger) {
        self.journal = journal
        self.logger = logger
        let open = journal?.listing().rows.filter { $0.status != .resolved } ?? []
        openEntries = Dictionary(open.map { ($0.batchID, $0.id) }, uniquingKeysWith: max)
    }

    func resolve(_ message: FailedMessage) {
        guard let journal, let batchID = message.batch?.id, let entry = openEntries[batchID] else { return }
        let now = Date().timeIntervalSince1970
        do {
            try journal.recordReplay(entry, dispatcher: message.system.dispatcherName, outcome: "requeued", error: nil, forced: false, at: now)
            try journal.markResolved(entry, resolution: "requeue", at: now)
            logger.info("Journal entry resolved by requeue", [
                (LogKey.journalID, String(entry)), (LogKey.batchID, String(batchID)), (ConsoleLogKey.messageID, message.messageID),
            ])
        } catch {
            logger.error("Failed to resolve the journal entry of a requeued message", [
                (LogKey.journalID, String(entry)), (LogKey.batchID, String(batchID)), (ConsoleLogKey.messageID, message.messageID),
                (LogKey.error, "\(error)"),
            ])
        }
    }
}
