import Synchronization

/// Keeps the state of every batch and per-dispatcher figures, bounded in
/// memory: counters, fixed histograms and rings, never a growing list of
/// finished batches.
final class BatchTracker: Sendable {
    static let recentCapacity = 256

    private struct DispatcherFigures {
        var dispatched: UInt64 = 0
        var queued = 0
        var running = 0
        var retrying = 0
        var done: UInt64 = 0
        var failed: UInt64 = 0
        var replayed: UInt64 = 0
        var retried: UInt64 = 0
        var sent: UInt64 = 0
        var deadLettered: UInt64 = 0
        var queueWait = WindowedHistogram()
        var runTime = WindowedHistogram()
        var completions = RateCounter()
    }

    private struct State {
        /// Dispatcher names, and their figures at the same positions. A
        /// process has a handful of dispatchers, so a scan comparing names
        /// costs less than hashing the name for each state change.
        var names: [String] = []
        var figures: [DispatcherFigures] = []
        var live = LiveBatchTable()
        var recent: [LiveRecord] = []
        var recentNext = 0
        /// Records pushed out of the full ring, kept to hold the next queued
        /// batches instead of allocating new ones; at most `spareCapacity`.
        var spare: [LiveRecord] = []
        /// Inline runs, in a ring apart from `recent`. Each is a value written
        /// in place, so recording one retains only its arguments.
        var inlineRuns: [InlineRun] = []
        var inlineNext = 0
        /// The position in `names` of each rule's dispatcher, by rule index,
        /// or -1 until the rule's first inline run.
        var ruleSlots: [Int]
    }

    /// A batch of one rule that the inline dispatcher ran and finished on the
    /// calling thread, kept compact. ``liveBatch(_:)`` rebuilds the full
    /// record when a snapshot is taken.
    struct InlineRun {
        var id: UInt64
        /// The rule's index in `rules`.
        var rule: Int
        var model: String
        var pk: JSONValue
        var signal: ChangeSignal
        var eventIndex: Int?
        var createdAt: Double
        var startedAt: Double
        var finishedAt: Double
        var arguments: JSONObject
    }

    static let spareCapacity = 64

    private let state: ParkingMutex<State>
    /// The compiled rules that inline runs refer to by index.
    private let rules: [CompiledRule]

    init(rules: [CompiledRule] = []) {
        self.rules = rules
        state = ParkingMutex(State(ruleSlots: [Int](repeating: -1, count: rules.count)))
    }

    /// Records a batch as queued; returns false, changing nothing, when a
    /// batch with its id is already live.
    @discardableResult
    func queued(_ batch: Batch, at time: Double) -> Bool {
        state.withLock { state in
            guard !state.live.contains(batch.id) else { return false }
            // Built under the lock: the record then never leaves the state it belongs to.
            let value = LiveBatch(
                id: batch.id, dispatcher: batch.dispatcher, model: batch.model, pk: batch.pk, signal: batch.signal,
                ruleIDs: batch.ruleIDs, state: .queued, createdAt: batch.createdAt, attempt: batch.attempt,
                replayOf: batch.replayOf, eventIndex: batch.eventIndex, ruleKwargs: batch.ruleKwargs)
            let record: LiveRecord
            if let reused = state.spare.popLast() {
                reused.batch = value
                record = reused
            } else {
                record = LiveRecord(value)
            }
            Self.update(&state, batch.dispatcher) { figures in
                figures.dispatched += 1
                figures.queued += 1
                if batch.replayOf != nil { figures.replayed += 1 }
            }
            state.live.insert(record)
            return true
        }
    }

    /// Records a batch that ran and succeeded on the calling thread without
    /// being queued: counted as dispatched and done in one update.
    func ranOnCallingThread(_ batch: Batch, startedAt: Double, finishedAt: Double) {
        state.withLock { state in
            let value = LiveBatch(
                id: batch.id, dispatcher: batch.dispatcher, model: batch.model, pk: batch.pk, signal: batch.signal,
                ruleIDs: batch.ruleIDs, state: .done, createdAt: batch.createdAt, startedAt: startedAt,
                finishedAt: finishedAt, attempt: batch.attempt, replayOf: batch.replayOf, eventIndex: batch.eventIndex, ruleKwargs: batch.ruleKwargs)
            Self.update(&state, batch.dispatcher) { figures in
                Self.countDone(createdAt: batch.createdAt, startedAt: startedAt, finishedAt: finishedAt, in: &figures)
            }
            Self.remember(value, in: &state)
        }
    }

    /// Records inline runs that succeeded, each counted as dispatched and
    /// done with the same figures as ``ranOnCallingThread(_:startedAt:finishedAt:)``,
    /// without a batch value being built for them.
    func ranInline(_ runs: UnsafeBufferPointer<InlineRun>) {
        state.withLock { state in
            for run in runs {
                var slot = state.ruleSlots[run.rule]
                if slot < 0 {
                    slot = Self.slot(&state, rules[run.rule].dispatcherName)
                    state.ruleSlots[run.rule] = slot
                }
                Self.countDone(createdAt: run.createdAt, startedAt: run.startedAt, finishedAt: run.finishedAt, in: &state.figures[slot])
                if state.inlineRuns.count < Self.recentCapacity {
                    state.inlineRuns.append(run)
                } else {
                    state.inlineRuns[state.inlineNext] = run
                }
                state.inlineNext = (state.inlineNext + 1) % Self.recentCapacity
            }
        }
    }

    /// Counts a batch that was dispatched and done in one step, on the calling thread.
    private static func countDone(createdAt: Double, startedAt: Double, finishedAt: Double, in figures: inout DispatcherFigures) {
        figures.dispatched += 1
        figures.done += 1
        let second = Int64(finishedAt)
        figures.queueWait.record(microseconds: UInt64(max(0, startedAt - createdAt) * 1_000_000), atSecond: second)
        figures.runTime.record(microseconds: UInt64(max(0, finishedAt - startedAt) * 1_000_000), atSecond: second)
        figures.completions.add(atSecond: second)
    }

    /// Returns the full record of an inline run, as the live list shows it.
    private func liveBatch(_ run: InlineRun) -> LiveBatch {
        let compiled = rules[run.rule]
        var kwargs = JSONObject(capacity: 1)
        kwargs.appendUnchecked(compiled.rule.id, .object(run.arguments))
        return LiveBatch(
            id: run.id, dispatcher: compiled.dispatcherName, model: run.model, pk: run.pk, signal: run.signal,
            ruleIDs: compiled.soloRuleIDs, state: .done, createdAt: run.createdAt, startedAt: run.startedAt,
            finishedAt: run.finishedAt, attempt: 1, replayOf: nil, eventIndex: run.eventIndex, ruleKwargs: kwargs)
    }

    /// Marks a batch running; a batch no longer tracked is left alone.
    func started(_ batch: Batch, at time: Double) {
        state.withLock { state in
            guard let record = state.live[batch.id] else { return }
            let previous = record.batch.state
            record.batch.state = .running
            record.batch.startedAt = time
            record.batch.attempt = batch.attempt
            Self.update(&state, batch.dispatcher) { figures in
                Self.leave(previous, &figures)
                figures.running += 1
                if previous == .queued {
                    let wait = max(0, time - batch.createdAt)
                    figures.queueWait.record(microseconds: UInt64(wait * 1_000_000), atSecond: Int64(time))
                }
            }
        }
    }

    /// Marks a failed attempt that the broker will retry.
    func retrying(_ batch: Batch, error: BatchError, at time: Double) {
        state.withLock { state in
            guard let record = state.live[batch.id] else { return }
            let previous = record.batch.state
            let startedAt = record.batch.startedAt
            record.batch.state = .retrying
            record.batch.error = error.description
            Self.update(&state, batch.dispatcher) { figures in
                Self.leave(previous, &figures)
                figures.retrying += 1
                figures.retried += 1
                if let started = startedAt {
                    figures.runTime.record(microseconds: UInt64(max(0, time - started) * 1_000_000), atSecond: Int64(time))
                }
            }
        }
    }

    /// Records the final state of a batch and moves it to the recent ring.
    ///
    /// A batch that is not live (never queued here, or already finished)
    /// still counts its final state, but leaves the in-flight counts alone.
    /// - Returns: whether the batch was live until now.
    @discardableResult
    func finished(_ batch: Batch, state final: BatchState, error: BatchError?, at time: Double) -> Bool {
        state.withLock { state in
            let tracked = state.live.remove(batch.id)
            let record = tracked ?? LiveRecord(
                LiveBatch(
                    id: batch.id, dispatcher: batch.dispatcher, model: batch.model, pk: batch.pk, signal: batch.signal,
                    ruleIDs: batch.ruleIDs, state: .queued, createdAt: batch.createdAt, attempt: batch.attempt,
                    replayOf: batch.replayOf, eventIndex: batch.eventIndex, ruleKwargs: batch.ruleKwargs))
            let previous = record.batch.state
            let startedAt = record.batch.startedAt
            record.batch.state = final
            record.batch.finishedAt = time
            if let error { record.batch.error = error.description } else if record.batch.error != nil { record.batch.error = nil }
            record.batch.attempt = batch.attempt
            Self.update(&state, batch.dispatcher) { figures in
                if tracked != nil { Self.leave(previous, &figures) }
                switch final {
                case .done: figures.done += 1
                case .failed: figures.failed += 1
                case .dead: figures.failed += 1; figures.deadLettered += 1
                case .sent: figures.sent += 1
                // The journal's outbox count is the figure for these.
                case .queued, .running, .retrying, .outbox: break
                }
                if let started = startedAt, final != .sent, final != .outbox {
                    figures.runTime.record(microseconds: UInt64(max(0, time - started) * 1_000_000), atSecond: Int64(time))
                }
                figures.completions.add(atSecond: Int64(time))
            }
            Self.remember(record, in: &state)
            return tracked != nil
        }
    }

    /// Marks a batch that waited in the outbox as sent, once the broker took
    /// it; a batch no longer in the recent ring only counts.
    func outboxSent(_ batch: Batch) {
        state.withLock { state in
            Self.update(&state, batch.dispatcher) { $0.sent += 1 }
            for record in state.recent
            where record.batch.id == batch.id && record.batch.state == .outbox && record.batch.createdAt == batch.createdAt {
                record.batch.state = .sent
            }
        }
    }

    /// Puts a finished batch in the ring of recent ones, over the oldest,
    /// whose record is kept as a spare.
    private static func remember(_ record: LiveRecord, in state: inout State) {
        if state.recent.count < recentCapacity {
            state.recent.append(record)
        } else {
            let evicted = state.recent[state.recentNext]
            state.recent[state.recentNext] = record
            if state.spare.count < spareCapacity { state.spare.append(evicted) }
        }
        state.recentNext = (state.recentNext + 1) % recentCapacity
    }

    /// Puts a batch that never was live in the ring, writing over the
    /// oldest record's value instead of allocating a record.
    private static func remember(_ value: LiveBatch, in state: inout State) {
        if state.recent.count < recentCapacity {
            state.recent.append(LiveRecord(value))
        } else {
            state.recent[state.recentNext].batch = value
        }
        state.recentNext = (state.recentNext + 1) % recentCapacity
    }

    private static func update(_ state: inout State, _ name: String, _ body: (inout DispatcherFigures) -> Void) {
        body(&state.figures[slot(&state, name)])
    }

    /// Returns the position of `name`'s figures, adding them on the name's first use.
    private static func slot(_ state: inout State, _ name: String) -> Int {
        if let slot = state.names.firstIndex(of: name) { return slot }
        state.names.append(name)
        state.figures.append(DispatcherFigures())
        return state.figures.count - 1
    }

    private static func leave(_ previous: BatchState, _ figures: inout DispatcherFigures) {
        switch previous {
        case .queued: figures.queued -= 1
        case .running: figures.running -= 1
        case .retrying: figures.retrying -= 1
        default: break
        }
    }

    /// The number of batches not yet finished.
    var unfinishedCount: Int { state.withLock { $0.live.count } }

    /// Figures per dispatcher name and the live batches (in flight newest
    /// first, then recent finished newest first), at most `liveLimit` of them.
    func snapshot(at time: Double, liveLimit: Int) -> (figures: [String: DispatcherSnapshot], live: [LiveBatch]) {
        state.withLock { state in
            let second = Int64(time)
            var figures: [String: DispatcherSnapshot] = [:]
            for (name, value) in zip(state.names, state.figures) {
                let wait = value.queueWait.lastMinute(atSecond: second)
                let run = value.runTime.lastMinute(atSecond: second)
                var snapshot = DispatcherSnapshot(name: name, runsOn: "", batching: false, ruleCount: 0)
                snapshot.dispatched = value.dispatched
                snapshot.inFlight = value.queued + value.running + value.retrying
                snapshot.queued = value.queued
                snapshot.done = value.done
                snapshot.failed = value.failed
                snapshot.replayed = value.replayed
                snapshot.retried = value.retried
                snapshot.sent = value.sent
                snapshot.deadLettered = value.deadLettered
                snapshot.queueWaitP50 = wait.percentile(0.5)
                snapshot.queueWaitP99 = wait.percentile(0.99)
                snapshot.runTimeP50 = run.percentile(0.5)
                snapshot.runTimeP99 = run.percentile(0.99)
                snapshot.rate1s = value.completions.rate(window: 1, atSecond: second)
                snapshot.rate10s = value.completions.rate(window: 10, atSecond: second)
                snapshot.rate60s = value.completions.rate(window: 60, atSecond: second)
                figures[name] = snapshot
            }
            var live = state.live.values.sorted { $0.id > $1.id }
            if live.count > liveLimit { live.removeLast(live.count - liveLimit) }
            var recent = state.recent.map(\.batch)
            recent.reserveCapacity(recent.count + state.inlineRuns.count)
            for run in state.inlineRuns { recent.append(liveBatch(run)) }
            recent.sort { ($0.finishedAt ?? 0, $0.id) > ($1.finishedAt ?? 0, $1.id) }
            for record in recent where live.count < liveLimit {
                live.append(record)
            }
            return (figures, live)
        }
    }
}

