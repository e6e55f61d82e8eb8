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
    static func start(_ request: RequeueRequest, broker: any MessageBroker, logger: Logger) -> BackgroundJob<RequeueJobStatus> {
        let count = request.messages.count
        let title = count == 1
            ? "Requeue of failed message \(request.messages[0].messageID)"
            : "Requeue of \(count) failed messages of \(request.queue)"
        let status = RequeueJobStatus(queue: request.queue, title: title, brokerLabel: request.brokerLabel, total: count)
        return BackgroundJob(threadName: "console-requeue", status: status) { job in
            run(request, broker: broker, logger: logger, job: job)
            job.update { $0.isFinished = true }
        }
    }

    private static func run(_ request: RequeueRequest, broker: any MessageBroker, logger: Logger, job: BackgroundJob<RequeueJobStatus>) {
        for message in request.messages {
            if job.stop.isStopped { break }
            do {
                try broker.requeue(message)
                job.update { status in
                    status.requeued += 1
                    status.lastMessageID = message.messageID
                    status.lastError = nil
                }
            } catch {
                logger.warning("Requeue failed", [
                    (ConsoleLogKey.messageID, message.messageID), (LogKey.queue, request.queue), (LogKey.error, error.message),
                ])
                job.update { status in
                    status.failed += 1
                    status.lastMessageID = message.messageID
                    status.lastError = error.message
                }
            }
        }
        let finished = job.status
        logger.info("Requeue finished", [
            (LogKey.queue, request.queue), (ConsoleLogKey.requeued, String(finished.requeued)),
            (ConsoleLogKey.failed, String(finished.failed)),
        ])
    }
}
