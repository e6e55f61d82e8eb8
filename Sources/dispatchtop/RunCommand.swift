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
        return waitForOutbox(setup, timeout: timeout)
    }

    /// Waits, up to `timeout` seconds, for batches in the journal's outbox
    /// to be sent once the broker is back; returns the exit status.
    private static func waitForOutbox(_ setup: EngineSetup, timeout: Double) -> Int32 {
        guard let journal = setup.engine.journal, journal.outboxCount() > 0 else { return 0 }
        printError("\(journal.outboxCount()) batches wait in the outbox for the broker; waiting up to \(Int(timeout)) s for them to be sent.")
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline && journal.outboxCount() > 0 {
            usleep(200_000)
        }
        let left = journal.outboxCount()
        guard left > 0 else {
            printError("The outbox is empty: every batch was sent.")
            return 0
        }
        printError(
            "\(left) batches still wait in the outbox of \(setup.journalPath). They are kept; any dispatchtop run or "
                + "console started with --journal \(setup.journalPath) and the same --broker sends them when the broker answers.")
        return 1
    }
}

/// Collects finished batches from any thread and prints them in dispatch
/// order (by batch id, which the engine hands out in dispatch order).
final class DispatchOutput: Sendable {
    struct Tally {
        var total = 0
        var done = 0
        var failed = 0
        var sent = 0
        var outbox = 0
    }

    private struct State {
        var waiting: [UInt64: [UInt8]] = [:]
        var nextID: UInt64 = 1
        var tally = Tally()
        let writer = LineWriter()
        /// Encodes batches that finish out of order, reused for each one.
        let scratch = LineWriter(descriptor: -1)
    }

    private let state = ParkingMutex(State())

    func add(_ finished: FinishedBatch) {
        guard finished.batch.replayOf == nil else { return }
        state.withLock { state in
            state.tally.total += 1
            switch finished.outcome {
            case .done: state.tally.done += 1
            case .failed: state.tally.failed += 1
            case .sent: state.tally.sent += 1
            case .outbox: state.tally.outbox += 1
            }
            // Batches that finish in dispatch order (all of them, for
            // dispatchers that run on the calling thread) skip the dictionary.
            // A batch in order is encoded straight into the output buffer,
            // without a line array of its own.
            if finished.batch.id == state.nextID {
                Self.encode(finished, into: state.writer)
                state.writer.flushIfFull()
                state.nextID += 1
                guard !state.waiting.isEmpty else { return }
            } else {
                Self.encode(finished, into: state.scratch)
                state.waiting[finished.batch.id] = state.scratch.take()
            }
            while let next = state.waiting.removeValue(forKey: state.nextID) {
                state.writer.write(next)
                state.nextID += 1
            }
        }
    }

    /// Writes whatever is left (gaps mean batches that never finished) and flushes.
    /// Writes out the lines already in order, without waiting for gaps.
    func flushWritten() {
        state.withLock { $0.writer.flush() }
    }

    func flushAll() {
        state.withLock { state in
            for id in state.waiting.keys.sorted() {
                state.writer.write(state.waiting[id]!)
            }
            state.waiting.removeAll()
            state.writer.flush()
        }
    }

    var tally: Tally { state.withLock { $0.tally } }

    /// Appends the JSON Lines record of one finished batch, with its
    /// newline, to `output`: `seq`, `event`, `batch`, `dispatcher`,
    /// `model`, `pk`, `signal`, `rule_ids`, `rule_kwargs`, `outcome` and
    /// `error`, in that order.
    ///
    /// The record is written member by member, and its text is what
    /// `JSONWriter` writes for the same members in a `JSONObject`.
    static func encode(_ finished: FinishedBatch, into output: LineWriter) {
        let batch = finished.batch
        output.append(#"{"seq":"#)
        output.appendDecimal(Int64(batch.id))
        output.append(#","event":"#)
        if let index = batch.eventIndex { output.appendDecimal(Int64(index)) } else { output.append("null") }
        output.append(#","batch":"#)
        output.appendDecimal(Int64(batch.id))
        output.append(#","dispatcher":"#)
        output.appendJSONString(batch.dispatcher)
        output.append(#","model":"#)
        output.appendJSONString(batch.model)
        output.append(#","pk":"#)
        output.appendJSON(batch.pk)
        output.append(#","signal":"#)
        output.appendJSONString(batch.signal.rawValue)
        output.append(#","rule_ids":["#)
        for (index, id) in batch.ruleIDs.enumerated() {
            if index > 0 { output.append(UInt8(ascii: ",")) }
            output.appendJSONString(id)
        }
        output.append(#"],"rule_kwargs":"#)
        output.appendJSON(.object(batch.ruleKwargs))
        output.append(#","outcome":"#)
        output.appendJSONString(finished.outcome.label)
        output.append(#","error":"#)
        if let error = finished.outcome.error {
            output.appendJSONString(error.description)
        } else {
            output.append("null")
        }
        output.append("}\n")
    }
}
