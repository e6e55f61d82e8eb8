/// Metadata keys of the console's own log lines, beside the engine's ``Engine/LogKey``.
enum ConsoleLogKey {
    static let ascii = "console.ascii"
    static let exitStatus = "console.exit_status"
    static let signal = "signal"
    static let fault = "fault"
    static let batchIDs = "batch.ids"
    static let messageID = "message.id"
    static let requeued = "requeued"
    static let failed = "failed"
    static let stopped = "stopped"
    static let drainsQueue = "drains_queue"
}
