import Foundation
import Engine

/// Reads the backlog of the in-process thread pool as a queue, so the
/// Queues pane shows work waiting for a pool thread when no broker is set up.
public struct ThreadPoolQueueProbe: QueueProbe {
    private let pool: WorkerPool

    /// A probe of the pool `rules`' threadpool dispatcher uses, or nil when
    /// no rule dispatches to the thread pool.
    public init?(rules: RuleSet) {
        guard let dispatcher = rules.dispatchers.lazy.compactMap({ $0 as? ThreadPoolDispatcher }).first else { return nil }
        pool = WorkerPool.shared(requestedSize: dispatcher.maxWorkers)
    }

    public func readDepths() -> [QueueDepth] {
        // Only the backlog is known: running work is counted per dispatcher,
        // and a pool has no delayed or dead-letter list.
        [QueueDepth(
            name: "threadpool:pool", source: "in-process", ready: pool.backlog, inFlight: nil, delayed: 0, failed: 0,
            readAt: Date().timeIntervalSince1970,
            note: "The backlog of the process-wide pool of \(pool.size) threads; failures go to the journal.")]
    }
}
