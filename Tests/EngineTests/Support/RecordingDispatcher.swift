import Synchronization

@testable import Engine

/// The batches a ``RecordingDispatcher`` was handed, in order, shared by
/// every dispatcher built from one registration.
final class DispatchLog: Sendable {
    private let batches = Mutex<[Batch]>([])

    func append(_ batch: Batch) {
        batches.withLock { $0.append(batch) }
    }

    var all: [Batch] { batches.withLock { $0 } }

    /// Each dispatch call as its rule ids, in dispatch order.
    var ruleIDGroups: [[String]] { all.map(\.ruleIDs) }
}

/// A custom dispatcher type for tests: it records every batch, then runs it
/// on the calling thread like `inline`, raising under the error policy.
///
/// It takes three options. `lane` is a string that only changes the batch
/// key. `batching` (default true) sets whether rules may share a call.
/// `in_process` (default true) set to false makes it look like a broker dispatcher.
struct RecordingDispatcher: Dispatcher {
    static let registeredName = "recording"
    let name = RecordingDispatcher.registeredName
    let supportsBatching: Bool
    let batchKey: String
    let runsOn = "calling thread, recorded"
    let runsInProcess: Bool
    let resolvedOptions: JSONObject
    let raiseException: Bool?
    let log: DispatchLog

    init(options: DispatcherOptions, log: DispatchLog) throws(DispatcherConfigurationError) {
        try options.rejectUnknownKeys(allowed: ["lane", "batching", "in_process"])
        _ = try options.string("lane")
        supportsBatching = try options.bool("batching") ?? true
        runsInProcess = try options.bool("in_process") ?? true
        raiseException = try options.raiseException()
        resolvedOptions = options.values
        batchKey = typeAndOptionsBatchKey(Self.registeredName, options)
        self.log = log
    }

    func dispatch(_ batch: Batch, executor: BatchExecutor) throws(BatchError) {
        log.append(batch)
        if case .failed(let error) = executor.run(batch), batch.raiseException {
            throw error
        }
    }

    /// Returns a registration whose dispatchers record into `log`.
    static func registration(log: DispatchLog) -> DispatcherRegistration {
        DispatcherRegistration(name: registeredName) { options throws(DispatcherConfigurationError) in
            try RecordingDispatcher(options: options, log: log)
        }
    }
}

/// Returns a registry with the in-process dispatchers and `recording`.
func registryWithRecording(_ log: DispatchLog) -> DispatcherRegistry {
    let registry = DispatcherRegistry.withInProcessDispatchers()
    try! registry.register(RecordingDispatcher.registration(log: log))
    return registry
}
