import Engine
import Foundation

/// `dispatchtop --once`: run for a while, print one snapshot, exit with a
/// status that reflects thresholds.
enum OnceCommand {
    static let thresholdExitStatus: Int32 = 3

    static func run(_ raw: [String]) throws -> Int32 {
        let arguments = try Arguments(
            raw, command: "--once",
            valued: EngineOptions.valuedOptions + ["--events", "--format", "--after", "--max-failures", "--max-depth", "--rate"],
            flags: ["--once", "--write", "--follow"])
        if arguments.wantsHelp {
            print(HelpText.once)
            return 0
        }
        try arguments.rejectPositional()
        let format = arguments.value("--format") ?? "json"
        guard format == "json" || format == "text" else {
            throw UsageError(message: "--format '\(format)' is not json or text.", command: "--once")
        }
        let after = try arguments.double("--after", range: 0...3600) ?? 2
        let maxFailures = try arguments.integer("--max-failures", range: 0...Int.max)
        let maxDepth = try arguments.integer("--max-depth", range: 0...Int.max)
        let rate = try arguments.double("--rate", range: EventPump.minimumRate...EventPump.maximumRate) ?? 40
        var options = try EngineOptions(arguments)
        options.sendsOutbox = options.writeMode
        let kind = try EventSourceChoice.kind(arguments, options: options, rate: rate)
        if let reason = EventSourceChoice.noSourceReason(arguments, options: options) { printError(reason) }
        let setup = try EngineSetup.make(options)
        defer { setup.shutdown() }
        let pump = EventPump(engine: setup.engine, kind: kind)
        try pump.start()
        // With an event file and no --after, run until the file has been read.
        let readWholeFile = arguments.value("--events") != nil && arguments.value("--after") == nil
        let deadline = Date().addingTimeInterval(readWholeFile ? 86_400 : after)
        while Date() < deadline && !(pump.isFinished && arguments.value("--events") != nil) {
            usleep(50_000)
            setup.engine.sampleQueues()
        }
        pump.stop()
        _ = setup.engine.waitUntilIdle(timeout: 5)
        setup.engine.sampleQueues()
        let snapshot = setup.engine.snapshot()
        let writer = LineWriter()
        if format == "json" {
            writer.write(JSONWriter.string(SnapshotJSON.encode(snapshot, source: pump.label)) + "\n")
        } else {
            writer.write(SnapshotText.render(snapshot, source: pump.label) + "\n")
        }
        writer.flush()
        let breaches = Thresholds(maxFailures: maxFailures, maxDepth: maxDepth).breaches(in: snapshot)
        for breach in breaches { printError("threshold crossed: \(breach)") }
        return breaches.isEmpty ? 0 : thresholdExitStatus
    }
}

/// Limits `--once` checks, for scripts and monitoring.
struct Thresholds {
    var maxFailures: Int?
    var maxDepth: Int?

    func breaches(in snapshot: EngineSnapshot) -> [String] {
        var found: [String] = []
        if let maxFailures, snapshot.failures.open > maxFailures {
            found.append("\(snapshot.failures.open) open failures, more than --max-failures \(maxFailures)")
        }
        if let maxDepth {
            for queue in snapshot.queues {
                // A depth that could not be read fails the check, so a
                // monitor never reads an unreachable or broken queue as fine.
                guard let ready = queue.depth.ready else {
                    let reason = queue.depth.note.map { ": \($0)" } ?? ""
                    found.append("queue \(queue.depth.name) has no readable depth to check against --max-depth \(maxDepth)\(reason)")
                    continue
                }
                let depth = ready + (queue.depth.delayed ?? 0)
                if depth > maxDepth {
                    found.append("queue \(queue.depth.name) holds \(depth), more than --max-depth \(maxDepth)")
                }
            }
        }
        return found
    }
}
