import Engine
import Foundation

/// `dispatchtop replay`: replay journalled failures with a line per entry.
enum ReplayCommand {
    static func run(_ raw: [String]) throws -> Int32 {
        let arguments = try Arguments(
            raw, command: "replay",
            valued: EngineOptions.valuedOptions + ["--id", "--dispatcher", "--filter-dispatcher", "--filter-model", "--rate", "--timeout"],
            flags: ["--all", "--force", "--write"])
        if arguments.wantsHelp {
            print(HelpText.replay)
            return 0
        }
        try arguments.rejectPositional()
        guard let journalPath = arguments.value("--journal") else {
            throw UsageError(message: "replay needs --journal PATH, the journal the failures were written to.", command: "replay")
        }
        guard arguments.value("--config") != nil else {
            throw UsageError(
                message: "replay needs --config FILE, the configuration the failures were journalled under (rules are matched by id and checked for changes).",
                command: "replay")
        }
        guard FileManager.default.fileExists(atPath: journalPath) else {
            throw SetupError(message: "The journal '\(journalPath)' does not exist. Pass the --journal path the engine wrote to.")
        }
        let ids = try arguments.all("--id").flatMap { text throws(UsageError) -> [Int64] in
            try text.split(separator: ",").map { part throws(UsageError) -> Int64 in
                guard let id = Int64(part.trimmingCharacters(in: .whitespaces)), id > 0 else {
                    throw UsageError(message: "--id '\(text)' is not a journal id (a positive whole number).", command: "replay")
                }
                return id
            }
        }
        let replayAll = arguments.has("--all")
        if replayAll == !ids.isEmpty {
            throw UsageError(message: "replay needs either --all or --id N (not both).", command: "replay")
        }
        var options = ReplayOptions(force: arguments.has("--force"), dispatcherOverride: arguments.value("--dispatcher"))
        options.ratePerSecond = try arguments.double("--rate", range: 0.1...1_000_000) ?? 200
        options.outcomeTimeout = try arguments.double("--timeout", range: 0.1...3600) ?? 30
        let engineOptions = try EngineOptions(arguments)
        let setup = try EngineSetup.make(engineOptions)
        defer { setup.shutdown() }
        if let override = options.dispatcherOverride, setup.engine.rules.dispatchersByName[override] == nil {
            throw UsageError(
                message: "--dispatcher '\(override)' is not registered. Registered: \(setup.engine.rules.registeredDispatcherNames.joined(separator: ", ")).",
                command: "replay")
        }
        let replayer = Replayer(engine: setup.engine)
        let progress: (ReplayProgress) -> Void = { step in
            let item = step.last
            var line = "[\(step.completed)/\(step.total)] #\(item.journalID) \(item.dispatcher): \(item.outcome.label)"
            if let detail = item.outcome.detail { line += " (\(detail))" }
            let writer = LineWriter()
            writer.write(line + "\n")
            writer.flush()
        }
        let summary: ReplaySummary
        if replayAll {
            let filter = FailureFilter(dispatcher: arguments.value("--filter-dispatcher"), model: arguments.value("--filter-model"))
            summary = replayer.replayAll(filter: filter, options: options, progress: progress)
        } else {
            summary = replayer.replay(ids: ids, options: options, progress: progress)
        }
        _ = setup.engine.waitUntilIdle(timeout: options.outcomeTimeout)
        let writer = LineWriter()
        if summary.items.isEmpty {
            writer.write("No journal entry matches; nothing to replay.\n")
        } else {
            writer.write(summary.closingLine + "\n")
        }
        writer.flush()
        let missing = summary.items.filter { $0.outcome.detail?.hasPrefix("no journal entry") ?? false }.count
        return summary.failed > 0 || missing > 0 ? 1 : 0
    }
}
