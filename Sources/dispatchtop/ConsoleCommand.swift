import Console
import Foundation
import Engine

/// `dispatchtop [options]`: the interactive console.
///
/// Everything that can fail (arguments, configuration, journal, event file)
/// is checked before the console takes over the terminal, so errors reach
/// standard error with a non-zero status.
enum ConsoleCommand {
    static func run(_ raw: [String]) throws -> Int32 {
        let arguments = try Arguments(
            raw, command: "", valued: EngineOptions.valuedOptions + ["--events", "--rate", "-d"],
            flags: ["--write", "--follow", "--no-color", "--ascii"])
        if arguments.wantsHelp {
            print(HelpText.main)
            return 0
        }
        try arguments.rejectPositional()
        let tenths = try arguments.integer("-d", range: 1...100) ?? 10
        let rate = try arguments.double("--rate", range: EventPump.minimumRate...EventPump.maximumRate) ?? 40
        var options = try EngineOptions(arguments)
        options.sendsOutbox = options.writeMode
        let kind = try EventSourceChoice.kind(arguments, options: options, rate: rate)
        let setup = try EngineSetup.make(options)
        defer { setup.shutdown() }

        let pump = EventPump(engine: setup.engine, kind: kind)
        // The in-process pool's backlog is a queue too, beside the broker's.
        if let probe = ThreadPoolQueueProbe(rules: setup.engine.rules) {
            setup.engine.addQueueProbe(probe)
        }
        let embedded = options.brokerURL == nil || options.brokerURL == "embedded"
        let writeMode: WriteMode = embedded ? .embedded : (options.writeMode ? .write : .readOnly)
        let session = ConsoleSession(
            engine: setup.engine, pump: pump, broker: setup.broker, brokerLabel: setup.broker.label,
            cacheLabel: setup.cacheLabel, writeMode: writeMode,
            noSourceReason: EventSourceChoice.noSourceReason(arguments, options: options))
        let consoleOptions = ConsoleOptions(
            refreshTenths: tenths, noColor: arguments.has("--no-color"), ascii: arguments.has("--ascii"), logPath: setup.logPath)
        let app = ConsoleApp(session: session, options: consoleOptions)
        let status = app.run()
        // Printed after the terminal is restored, so it stays on the normal screen.
        if app.didTakeOverTerminal, options.journalPath == nil {
            printError(keptFilesNote(journalPath: setup.journalPath, logPath: setup.logPath))
        }
        if app.didTakeOverTerminal, !embedded, let waiting = setup.engine.journal?.outboxCount(), waiting > 0 {
            printError(outboxNote(waiting: waiting, journalPath: setup.journalPath, writeMode: options.writeMode))
        }
        return status
    }

    /// Says that batches still wait in the outbox at exit, where they are
    /// kept, and what sends them.
    static func outboxNote(waiting: Int, journalPath: String, writeMode: Bool) -> String {
        let batches = waiting == 1 ? "1 batch still waits" : "\(waiting) batches still wait"
        var lines = ["dispatchtop: \(batches) in the outbox of \(journalPath). They are kept."]
        lines.append(
            "dispatchtop: " + OutboxWait.resendHint(journalPath: journalPath)
                + (writeMode ? "." : ". This console was read-only, so it did not send them."))
        return lines.joined(separator: "\n")
    }

    /// Says where a run without `--journal` kept its journal and log: a
    /// folder under the system's temporary folder, which is not removed.
    static func keptFilesNote(journalPath: String, logPath: String) -> String {
        let folder = (journalPath as NSString).deletingLastPathComponent
        let logInFolder = (logPath as NSString).deletingLastPathComponent == folder
        let files = logInFolder ? "the failure journal and the log" : "the failure journal"
        var lines = ["dispatchtop: this run kept the failure journal in \(journalPath) and the log in \(logPath)."]
        lines.append("dispatchtop: remove \(folder) when you no longer need \(files); --journal PATH chooses where they go.")
        return lines.joined(separator: "\n")
    }
}
