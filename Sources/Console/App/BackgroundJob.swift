import Engine
import Foundation
import Synchronization

/// The progress a background job reports, which the console draws each frame.
protocol BackgroundJobStatus: Sendable {
    /// Set once the operator asked the job to stop after its current item.
    var stopping: Bool { get set }
    var isFinished: Bool { get }
}

/// Work that runs on its own thread while the console keeps drawing: a
/// replay of journalled failures or a requeue of a broker's failed messages.
/// The loop reads ``status`` each frame, and the work reports through
/// ``update(_:)`` and checks ``stop`` between items.
final class BackgroundJob<Status: BackgroundJobStatus>: Sendable {
    let stop = StopFlag()
    private let state: Mutex<Status>
    private let done = DispatchSemaphore(value: 0)

    /// Starts `work` on a thread named `threadName`. `work` must leave the
    /// status finished when it returns.
    init(threadName: String, status: Status, work: @escaping @Sendable (BackgroundJob<Status>) -> Void) {
        state = Mutex(status)
        let thread = Thread { [self] in
            work(self)
            done.signal()
        }
        thread.name = threadName
        thread.start()
    }

    var status: Status { state.withLock { $0 } }

    var isRunning: Bool { !status.isFinished }

    func update(_ change: (inout Status) -> Void) {
        state.withLock { change(&$0) }
    }

    /// Asks the job to stop after the item in progress.
    func requestStop() {
        state.withLock { $0.stopping = true }
        stop.stop()
    }

    /// Waits up to `seconds` for the thread to finish and returns whether it did.
    @discardableResult
    func wait(seconds: Double) -> Bool {
        guard isRunning else { return true }
        let finished = done.wait(timeout: .now() + seconds) == .success
        // Leave the semaphore signalled, so a later wait returns at once.
        if finished { done.signal() }
        return finished
    }
}
