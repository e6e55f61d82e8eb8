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
