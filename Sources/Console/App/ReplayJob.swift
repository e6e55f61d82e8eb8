import Engine
import Foundation

extension ReplayJobStatus: BackgroundJobStatus {}

/// A replay of journalled failures, run as a ``BackgroundJob``.
enum ReplayJob {
    enum Scope: Sendable {
        case ids([Int64])
        case allOpen
    }

    static func start(scope: Scope, replayer: Replayer) -> BackgroundJob<ReplayJobStatus> {
        let title: String
        switch scope {
        case .ids(let ids): title = ids.count == 1 ? "Replay of failure \(ids[0])" : "Replay of \(ids.count) failures"
        case .allOpen: title = "Replay of all open failures"
        }
        return BackgroundJob(threadName: "console-replay", status: ReplayJobStatus(title: title)) { job in
            let summary = run(scope, replayer: replayer, job: job)
            job.update { $0.summary = summary }
        }
    }

    private static func run(_ scope: Scope, replayer: Replayer, job: BackgroundJob<ReplayJobStatus>) -> ReplaySummary {
        let report: (ReplayProgress) -> Void = { progress in
            job.update { status in
                status.completed = progress.completed
                status.total = progress.total
                status.last = progress.last
            }
        }
        switch scope {
        case .ids(let ids):
            job.update { $0.total = ids.count }
            return replayer.replay(ids: ids, stop: job.stop, progress: report)
        case .allOpen:
            return replayer.replayAll(stop: job.stop, progress: report)
        }
    }
}
