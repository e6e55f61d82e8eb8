import Engine
import Foundation

/// Picks the event source for the console and `--once`.
///
/// The demo generator only runs on the bundled demo configuration, and
/// against a real broker only in write mode, because its events become
/// real jobs in that broker's queues. With `--config` and no `--events`,
/// there is no event source: the operator watches, triggers and replays.
enum EventSourceChoice {
    static func kind(_ arguments: Arguments, options: EngineOptions, rate: Double) throws -> EventSourceKind {
        if let path = arguments.value("--events") {
            try FilePaths.checkEventFile(path)
            return .file(path: path, follow: arguments.has("--follow"))
        }
        if arguments.has("--follow") {
            throw UsageError(message: "--follow needs --events FILE.", command: arguments.command)
        }
        let realBroker = usesRealBroker(options)
        guard options.configPath == nil, !realBroker || options.writeMode else {
            if arguments.value("--rate") != nil {
                throw UsageError(
                    message: "--rate sets the demo generator, which runs only on the bundled demo configuration"
                        + (realBroker ? " and, with a real broker, only with --write." : "."),
                    command: arguments.command)
            }
            return .none
        }
        return .demo(rate: rate, seed: UInt64(Date().timeIntervalSince1970))
    }

    /// Returns why the demo generator did not start, when the operator
    /// left out the event source expecting it: the bundled demo
    /// configuration against a real broker without `--write`.
    static func noSourceReason(_ arguments: Arguments, options: EngineOptions) -> String? {
        guard options.configPath == nil, usesRealBroker(options), !options.writeMode, arguments.value("--events") == nil else {
            return nil
        }
        return "The demo generator needs --write with a Redis broker, because its events become real jobs. "
            + "Start again with --write, or pass --events FILE."
    }

    /// Returns whether `--broker` names a broker outside this process.
    private static func usesRealBroker(_ options: EngineOptions) -> Bool {
        options.brokerURL.map { $0 != "embedded" } ?? false
    }
}
