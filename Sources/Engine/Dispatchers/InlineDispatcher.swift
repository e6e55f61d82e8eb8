/// Runs the rules at once on the calling thread: the event source waits
/// until the cache entries are gone.
public struct InlineDispatcher: RegistrableDispatcher {
    public static let registeredName = "inline"
    public let name = registeredName
    public let supportsBatching = false
    public let batchKey: String
    public let runsOn = "calling thread"
    public let runsInProcess = true
    public let resolvedOptions: JSONObject
    public let raiseException: Bool?
    public let runsOnCallingThread = true

    public init(options: DispatcherOptions) throws(DispatcherConfigurationError) {
        try options.rejectUnknownKeys(allowed: [])
        raiseException = try options.raiseException()
        resolvedOptions = options.values
        batchKey = typeAndOptionsBatchKey(Self.registeredName, options)
    }

    public func dispatch(_ batch: Batch, executor: BatchExecutor) throws(BatchError) {
        if case .failed(let error) = executor.runOnCallingThread(batch), batch.raiseException {
            throw error
        }
    }
}
