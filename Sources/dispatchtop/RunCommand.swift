import Engine
import Foundation
import Synchronization

/// `dispatchtop run`: evaluate an event file and print every dispatch.
enum RunCommand {
    static func run(_ raw: [String]) throws -> Int32 {
        let arguments = try Arguments(
            raw, command: "run", valued: EngineOptions.valuedOptions + ["--events", "--timeout"], flags: ["--write"])
        if arguments.wantsHelp {
            print(HelpText.run)
            return 0
        }
        try arguments.rejectPositional()
        guard arguments.value("--config") != nil else {
            throw UsageError(message: "run needs --config FILE.", command: "run")
        }
        guard let eventsPath = arguments.value("--events") else {
            throw UsageError(message: "run needs --events FILE (or - for standard input).", command: "run")
        }
        let timeout = try arguments.double("--timeout", range: 0.1...86_400) ?? 600
        let options = try EngineOptions(arguments)
        try FilePaths.checkEventFile(eventsPath)

        let output = DispatchOutput()
        let setup = try EngineSetup.make(options) { finished in output.add(finished) }
        defer { setup.shutdown() }
        let waitingAtStart = OutboxWait.count(setup)
        let reader: EventLineReader
        do {
            reader = try EventLineReader(path: eventsPath)
        } catch {
            printError("\(error). Check the path, or pass - to read standard input.")
            return 1
        }

        let started = Date()
        var counts = (read: 0, rejected: 0, skipped: 0)
        let streaming = eventsPath == "-"
        while let line = reader.next() {
            switch line {
            case .event(let event, _):
                let result = setup.engine.process(event, index: counts.read)
                if result.skippedEmptyUpdate { counts.skipped += 1 }
                counts.read += 1
                // From a pipe, each event's lines go out before the next event
                // is read, so a script sees them while the pipe stays open.
                if streaming { output.flushWritten() }
            case .rejected(let number, let error):
                counts.rejected += 1
                printError("\(eventsPath == "-" ? "stdin" : eventsPath):\(number): rejected event line: \(error.reason)")
                setup.engine.recordRejectedLine(number, error: error)
            }
        }
        let finished = setup.engine.waitUntilIdle(timeout: timeout)
        output.flushAll()
        let elapsed = Date().timeIntervalSince(started)
        let tally = output.tally
        printError(
            "events read \(counts.read), rejected lines \(counts.rejected), skipped (empty update_fields) \(counts.skipped), "
                + "dispatches \(tally.total) (done \(tally.done), failed \(tally.failed), sent \(tally.sent), in the outbox \(tally.outbox)), "
                + String(format: "%.2f s", elapsed))
        printError("journal \(setup.journalPath), log \(setup.logPath)")
        if !finished {
            printError("Work did not finish within \(timeout) s; unfinished batches are not in the output. Raise --timeout.")
            return 1
        }
        return OutboxWait.wait(setup, timeout: timeout, waitingAtStart: waitingAtStart) ? 0 : 1
    }
}
