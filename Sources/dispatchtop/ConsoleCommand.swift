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
        let options = try EngineOptions(arguments)
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
            cacheLabel: setup.cacheLabel, writeMode: writeMode)
        let consoleOptions = ConsoleOptions(
            refreshTenths: tenths, noColor: arguments.has("--no-color"), ascii: arguments.has("--ascii"), logPath: setup.logPath)
        let app = ConsoleApp(session: session, options: consoleOptions)
        let status = app.run()
        // Printed after the terminal is restored, so it stays on the normal screen.
        if app.didTakeOverTerminal, options.journalPath == nil {
            printError(keptFilesNote(journalPath: setup.journalPath, logPath: setup.logPath))
        }
        return status
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
