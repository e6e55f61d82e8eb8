import Brokers
import Engine
import Foundation

/// `dispatchtop replay`: replay journalled failures with a line per entry.
enum ReplayCommand {
    /// What to replay, as the command line asks.
    private struct Request {
        var journalPath: String
        var ids: [Int64]
        var filter: FailureFilter
        var options: ReplayOptions
        var engineOptions: EngineOptions
    }

    static func run(_ raw: [String]) throws -> Int32 {
        let arguments = try Arguments(
            raw, command: "replay",
            valued: EngineOptions.valuedOptions + ["--id", "--dispatcher", "--filter-dispatcher", "--filter-model", "--rate", "--timeout"],
            flags: ["--all", "--force", "--write"])
        if arguments.wantsHelp {
            print(HelpText.replay)
            return 0
        }
        let request = try parse(arguments)

        let setup = try EngineSetup.make(request.engineOptions)
        defer { setup.shutdown() }
        let waitingAtStart = OutboxWait.count(setup)
        if let override = request.options.dispatcherOverride, setup.engine.rules.dispatchersByName[override] == nil {
            throw UsageError(
                message: "--dispatcher '\(override)' is not registered. Registered: \(setup.engine.rules.registeredDispatcherNames.joined(separator: ", ")).",
                command: "replay")
        }

        var options = request.options
        if let reason = readOnlyBlockReason(setup.broker, writeMode: request.engineOptions.writeMode) {
            options.blockReason = { dispatcher in dispatcher is any BrokerDispatcher ? reason : nil }
        }
        let replayer = Replayer(engine: setup.engine)
        let summary = request.ids.isEmpty
            ? replayer.replayAll(filter: request.filter, options: options, progress: printProgress)
            : replayer.replay(ids: request.ids, options: options, progress: printProgress)
        _ = setup.engine.waitUntilIdle(timeout: options.outcomeTimeout)

        let writer = LineWriter()
        writer.write(summary.items.isEmpty ? "No journal entry matches; nothing to replay.\n" : summary.closingLine + "\n")
        writer.flush()
        // Batches left in the outbox by an outage are sent by this process
        // too, so it waits for them before exiting.
        let outboxSent = OutboxWait.wait(setup, timeout: options.outcomeTimeout, waitingAtStart: waitingAtStart)
        let missing = summary.items.filter { $0.outcome.detail?.hasPrefix("no journal entry") ?? false }.count
        // Blocked entries need the operator to act, unlike one whose rule is gone.
        return summary.failed > 0 || missing > 0 || summary.blocked > 0 || !outboxSent ? 1 : 0
    }

    /// Returns the reason to skip entries of broker dispatchers when the
    /// broker is a real one and `--write` is missing, or nil when replaying
    /// onto the broker is allowed. The embedded broker lives in this
    /// process, so replaying onto it needs no `--write`.
    private static func readOnlyBlockReason(_ broker: any MessageBroker, writeMode: Bool) -> String? {
        guard broker is RedisBroker, !writeMode else { return nil }
        return "replaying onto the broker at \(broker.label) needs --write; run replay again with --write to send it"
    }

    private static func parse(_ arguments: Arguments) throws -> Request {
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
        if arguments.has("--all") == !ids.isEmpty {
            throw UsageError(message: "replay needs either --all or --id N (not both).", command: "replay")
        }

        var options = ReplayOptions(force: arguments.has("--force"), dispatcherOverride: arguments.value("--dispatcher"))
        options.ratePerSecond = try arguments.double("--rate", range: 0.1...1_000_000) ?? 200
        options.outcomeTimeout = try arguments.double("--timeout", range: 0.1...3600) ?? 30
        let filter = FailureFilter(dispatcher: arguments.value("--filter-dispatcher"), model: arguments.value("--filter-model"))
        return Request(
            journalPath: journalPath, ids: ids, filter: filter, options: options, engineOptions: try EngineOptions(arguments))
    }

    /// Prints one line per replayed entry as it ends.
    private static func printProgress(_ step: ReplayProgress) {
        let item = step.last
        var line = "[\(step.completed)/\(step.total)] #\(item.journalID) \(item.dispatcher): \(item.outcome.label)"
        if let detail = item.outcome.detail { line += " (\(detail))" }
        let writer = LineWriter()
        writer.write(line + "\n")
        writer.flush()
    }
}
