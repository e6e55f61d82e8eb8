import Engine
import Foundation
import Synchronization

/// A replay running on its own thread while the console keeps drawing;
/// the loop reads its ``status`` each frame.
final class ReplayJob: Sendable {
    enum Scope: Sendable {
        case ids([Int64])
        case allOpen
    }

    private let state: Mutex<ReplayJobStatus>
    private let stop = StopFlag()
    private let done = DispatchSemaphore(value: 0)

    init(scope: Scope, replayer: Replayer) {
        let title: String
        switch scope {
        case .ids(let ids): title = ids.count == 1 ? "Replay of failure \(ids[0])" : "Replay of \(ids.count) failures"
        case .allOpen: title = "Replay of all open failures"
        }
        state = Mutex(ReplayJobStatus(title: title))
        let thread = Thread { [self] in
            let summary = run(scope, replayer: replayer)
            state.withLock { $0.summary = summary }
            done.signal()
        }
        thread.name = "console-replay"
        thread.start()
    }

    private func run(_ scope: Scope, replayer: Replayer) -> ReplaySummary {
        let report: (ReplayProgress) -> Void = { progress in
            self.state.withLock { status in
                status.completed = progress.completed
                status.total = progress.total
                status.last = progress.last
            }
        }
        switch scope {
        case .ids(let ids):
            state.withLock { $0.total = ids.count }
            return replayer.replay(ids: ids, stop: stop, progress: report)
        case .allOpen:
            return replayer.replayAll(stop: stop, progress: report)
        }
    }

    var status: ReplayJobStatus { state.withLock { $0 } }

    var isRunning: Bool { !status.isFinished }

    /// Asks the replay to stop after the item in progress.
    func requestStop() {
        state.withLock { $0.stopping = true }
        stop.stop()
    }

    /// Waits up to `seconds` for the thread to finish; returns whether it did.
    @discardableResult
    func wait(seconds: Double) -> Bool {
        guard isRunning else { return true }
        let finished = done.wait(timeout: .now() + seconds) == .success
        if finished { done.signal() }
        return finished
    }
}
