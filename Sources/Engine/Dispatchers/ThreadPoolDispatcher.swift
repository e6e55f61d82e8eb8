import Foundation
import Synchronization

/// Runs the rules on a process-wide pool of threads.
///
/// The pool is built on first use with that dispatcher's `max_workers`
/// (default 4); its size is fixed from then on, as with restflow's shared
/// executor. Work not finished when the process exits is lost, which is why
/// failures go to the journal as they happen.
public struct ThreadPoolDispatcher: RegistrableDispatcher {
    public static let registeredName = "threadpool"
    public static let defaultMaxWorkers = 4
    public let name = registeredName
    public let supportsBatching = true
    public let batchKey: String
    public let runsInProcess = true
    public let resolvedOptions: JSONObject
    public let raiseException: Bool?
    public let maxWorkers: Int

    public init(options: DispatcherOptions) throws(DispatcherConfigurationError) {
        try options.rejectUnknownKeys(allowed: ["max_workers"])
        maxWorkers = try options.positiveInteger("max_workers", default: Self.defaultMaxWorkers)
        raiseException = try options.raiseException()
        var resolved = options.values
        resolved["max_workers"] = .int(Int64(maxWorkers))
        resolvedOptions = resolved
        batchKey = typeAndOptionsBatchKey(Self.registeredName, options)
    }

    public var runsOn: String {
        let size = WorkerPool.shared(requestedSize: maxWorkers).size
        return "pool of \(size) threads"
    }

    public func dispatch(_ batch: Batch, executor: BatchExecutor) throws(BatchError) {
        let pool = WorkerPool.shared(requestedSize: maxWorkers)
        pool.submit {
            // A raised failure has nowhere to go from a pool thread; it is
            // journalled and logged by the executor like every failure.
            executor.run(batch)
        }
    }
}

/// A fixed set of threads taking work from one FIFO queue.
public final class WorkerPool: Sendable {
    private struct State {
        var queue: [@Sendable () -> Void] = []
        var head = 0
        var stopped = false
    }

    private let state = ParkingMutex(State())
    private let available = DispatchSemaphore(value: 0)
    public let size: Int

    private static let sharedPool = Mutex<WorkerPool?>(nil)

    /// The process-wide pool, created with `requestedSize` threads on first use.
    public static func shared(requestedSize: Int) -> WorkerPool {
        sharedPool.withLock { pool in
            if let pool { return pool }
            let created = WorkerPool(size: requestedSize, name: "threadpool")
            pool = created
            return created
        }
    }

    public init(size: Int, name: String) {
        self.size = size
        for index in 0..<size {
            let thread = Thread { [self] in self.work() }
            thread.name = "\(name)-\(index)"
            thread.start()
        }
    }

    /// Work waiting for a free thread.
    public var backlog: Int { state.withLock { $0.queue.count - $0.head } }

    public func submit(_ work: @escaping @Sendable () -> Void) {
        state.withLock { $0.queue.append(work) }
        available.signal()
    }

    private func work() {
        while true {
            available.wait()
            let next: (@Sendable () -> Void)? = state.withLock { state in
                guard state.head < state.queue.count else { return nil }
                let work = state.queue[state.head]
                state.head += 1
                if state.head > 1024 && state.head * 2 > state.queue.count {
                    state.queue.removeFirst(state.head)
                    state.head = 0
                }
                return work
            }
            next?()
        }
    }
}
