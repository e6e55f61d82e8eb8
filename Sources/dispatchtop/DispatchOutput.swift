import Engine

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
        var templates = RecordTemplateTable()
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
                Self.encode(finished, into: state.writer, templates: &state.templates)
                state.writer.flushIfFull()
                state.nextID += 1
                guard !state.waiting.isEmpty else { return }
            } else {
                Self.encode(finished, into: state.scratch, templates: &state.templates)
                state.waiting[finished.batch.id] = state.scratch.take()
            }
            while let next = state.waiting.removeValue(forKey: state.nextID) {
                state.writer.write(next)
                state.nextID += 1
            }
        }
    }

    /// Writes out the lines already in order, without waiting for gaps.
    func flushWritten() {
        state.withLock { $0.writer.flush() }
    }

    /// Writes whatever is left (gaps mean batches that never finished) and flushes.
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
    /// The record's text is what `JSONWriter` writes for the same members in
    /// a `JSONObject`. The part from `dispatcher` to `rule_kwargs` comes from
    /// the template of the batch's shape when there is one.
    static func encode(_ finished: FinishedBatch, into output: LineWriter, templates: inout RecordTemplateTable) {
        // Room for the members up to `batch`: 25 bytes of names and three numbers.
        output.reserve(25 + 3 * 20)
        output.appendReserved(#"{"seq":"#)
        let idStart = output.count
        output.appendDecimalReserved(Int64(finished.batch.id))
        let idLength = output.count - idStart
        output.appendReserved(#","event":"#)
        if let index = finished.batch.eventIndex {
            output.appendDecimalReserved(Int64(index))
        } else {
            output.appendReserved("null")
        }
        // `batch` is the same id as `seq`, so its digits are copied.
        output.appendReserved(#","batch":"#)
        output.appendCopy(ofBytesAt: idStart, length: idLength)

        if !templates.appendBody(of: finished.batch, to: output) {
            encodeMembers(finished.batch, into: output)
        }

        // The outcome's label, quoted, and the error.
        switch finished.outcome {
        case .done: output.append(#","outcome":"done","error":null}\#n"#)
        case .sent: output.append(#","outcome":"sent","error":null}\#n"#)
        case .outbox: output.append(#","outcome":"outbox","error":null}\#n"#)
        case .failed(let error):
            output.append(#","outcome":"failed","error":"#)
            output.appendJSONString(error.description)
            output.append("}\n")
        }
    }

    /// Appends the record from `,"dispatcher":` to the end of `rule_kwargs`,
    /// member by member.
    static func encodeMembers(_ batch: Batch, into output: LineWriter) {
        output.append(#","dispatcher":"#)
        output.appendJSONString(batch.dispatcher)
        output.append(#","model":"#)
        output.appendJSONString(batch.model)
        output.append(#","pk":"#)
        output.appendJSON(batch.pk)
        output.append(#","signal":"#)
        output.appendJSONString(batch.signal.rawValue)
        output.append(#","rule_ids":["#)
        let ruleIDs = batch.ruleIDs
        for index in ruleIDs.indices {
            if index > 0 { output.append(UInt8(ascii: ",")) }
            output.appendJSONString(ruleIDs[index])
        }
        output.append(#"],"rule_kwargs":"#)
        output.appendJSON(batch.ruleKwargs)
    }
}
