import Synchronization

/// Runs the rules in a Swift concurrency task when dispatched from inside
/// one, and on the calling thread otherwise (restflow's `asyncio`
/// dispatcher: the running event loop, or the synchronous fallback).
///
/// Tasks are tracked until done: each is counted in flight by the engine, and
/// ``pendingTasks`` counts those started and not yet finished.
public struct AsyncTaskDispatcher: RegistrableDispatcher {
    public static let registeredName = "asyncio"
    public let name = registeredName
    public let supportsBatching = false
    public let batchKey: String
    public let runsOn = "Swift task, else calling thread"
    public let runsInProcess = true
    public let resolvedOptions: JSONObject
    public let raiseException: Bool?
    /// The logger given at construction. When nil, the engine's batch logger
    /// is used, because a dispatcher built by the registry gets no logger.
    let logger: Logger?

    private static let pending = Atomic<Int>(0)

    /// Tasks started by this dispatcher type and not yet finished.
    public static var pendingTasks: Int { pending.load(ordering: .relaxed) }

    public init(options: DispatcherOptions) throws(DispatcherConfigurationError) {
        try self.init(options: options, logger: nil)
    }

    public init(options: DispatcherOptions, logger: Logger) throws(DispatcherConfigurationError) {
        try self.init(options: options, logger: .some(logger))
    }

    private init(options: DispatcherOptions, logger: Logger?) throws(DispatcherConfigurationError) {
        try options.rejectUnknownKeys(allowed: [])
        raiseException = try options.raiseException()
        resolvedOptions = options.values
        batchKey = typeAndOptionsBatchKey(Self.registeredName, options)
        self.logger = logger
    }

    /// Whether the caller runs inside a Swift concurrency task.
    public static var isInsideTask: Bool {
        withUnsafeCurrentTask { $0 != nil }
    }

    public func dispatch(_ batch: Batch, executor: BatchExecutor) throws(BatchError) {
        guard Self.isInsideTask else {
            let log = logger ?? executor.logger
            log.debug("No current task, running the batch inline", [(LogKey.batchID, String(batch.id))])
            if case .failed(let error) = executor.run(batch), batch.raiseException {
                throw error
            }
            return
        }
        Self.pending.wrappingAdd(1, ordering: .relaxed)
        Task.detached {
            executor.run(batch)
            Self.pending.wrappingSubtract(1, ordering: .relaxed)
        }
    }
}
