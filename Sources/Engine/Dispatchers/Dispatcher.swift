/// A place where invalidation work runs: the calling thread, a thread pool,
/// a Swift concurrency task, or a task broker.
///
/// A dispatcher is built once per distinct set of options and shared by every
/// rule that uses them, so it must be safe to call from any thread.
public protocol Dispatcher: Sendable {
    /// The registered name, e.g. `threadpool`.
    var name: String { get }
    /// Whether rules with `batch: true` may share one dispatch call.
    var supportsBatching: Bool { get }
    /// Rules whose dispatchers have equal batch keys share a dispatch call.
    var batchKey: String { get }
    /// Where the work runs, for the console ("calling thread", "pool of 4").
    var runsOn: String { get }
    /// Whether the work runs in this process; rules with a custom
    /// invalidator need an in-process dispatcher.
    var runsInProcess: Bool { get }
    /// The options after defaults, as stored in the failure journal.
    var resolvedOptions: JSONObject { get }
    /// The settings block's `raise_exception`, the middle step of the error policy.
    var raiseException: Bool? { get }
    /// True when `dispatch` always runs the batch before returning, through
    /// ``BatchExecutor/runOnCallingThread(_:)``. The engine then skips
    /// recording the batch as queued, which such a batch never is for long.
    var runsOnCallingThread: Bool { get }

    /// Hands one batch over. The dispatcher runs it through `executor`
    /// (here, or later on another thread) or passes it to a broker whose
    /// consumer does; it reports every outcome through `executor`.
    ///
    /// - Throws: the batch's failure, when it ran on the calling thread,
    ///   failed, and its error policy says to raise. Every failure is
    ///   journalled whether or not it is thrown.
    func dispatch(_ batch: Batch, executor: BatchExecutor) throws(BatchError)

    /// Sends a journalled batch again. Broker dispatchers send the stored
    /// payload byte for byte; the default dispatches the batch anew.
    func redeliver(_ batch: Batch, executor: BatchExecutor) throws(BatchError)
}

extension Dispatcher {
    public var runsOnCallingThread: Bool { false }

    public func redeliver(_ batch: Batch, executor: BatchExecutor) throws(BatchError) {
        try dispatch(batch, executor: executor)
    }
}

/// A dispatcher type that can be registered by its type: a static name and
/// an initializer that validates its options.
public protocol RegistrableDispatcher: Dispatcher {
    static var registeredName: String { get }
    init(options: DispatcherOptions) throws(DispatcherConfigurationError)
}

/// The batch key of dispatchers whose identity is their type plus their
/// sorted options, restflow's default `batch_key`.
public func typeAndOptionsBatchKey(_ name: String, _ options: DispatcherOptions) -> String {
    let sorted = options.sortedDescription
    return sorted.isEmpty ? name : "\(name)|\(sorted)"
}
