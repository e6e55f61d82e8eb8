import Foundation
import Synchronization

/// What processing one event did.
public struct EventResult: Sendable {
    /// Ids of the batches dispatched, in dispatch order.
    ///
    /// The array is built on each read, so callers that ignore the result
    /// (the event pump, `run`) allocate no array per event.
    public var batchIDs: [UInt64] {
        get {
            if !scatteredIDs.isEmpty || batchCount == 0 { return scatteredIDs }
            // A closed range: the run may end at UInt64.max.
            return Array(firstBatchID...firstBatchID + UInt64(batchCount - 1))
        }
        set {
            scatteredIDs = newValue
            batchCount = newValue.count
            firstBatchID = newValue.first ?? 0
        }
    }
    /// The ids when they are not the run `firstBatchID` + 0..<batchCount,
    /// and empty while they are. A run breaks when another thread takes an
    /// id between two of this event's batches, or when `batchIDs` is set.
    private var scatteredIDs: [UInt64] = []
    private var firstBatchID: UInt64 = 0
    private var batchCount = 0
    /// True when the event was a save with an empty `update_fields` list,
    /// which Django never signals; it is counted and skipped.
    public var skippedEmptyUpdate = false
    /// Failures that in-process dispatchers raised under the error policy.
    public var raised: [BatchError] = []

    /// Adds the id of the next batch dispatched.
    mutating func appendBatchID(_ id: UInt64) {
        defer { batchCount += 1 }
        if batchCount == 0 {
            firstBatchID = id
            return
        }
        if scatteredIDs.isEmpty {
            let (next, overflow) = firstBatchID.addingReportingOverflow(UInt64(batchCount))
            if !overflow && id == next { return }
            scatteredIDs.reserveCapacity(batchCount + 1)
            for offset in 0..<UInt64(batchCount) { scatteredIDs.append(firstBatchID + offset) }
        }
        scatteredIDs.append(id)
    }
}

/// Reads queue depths from a broker for the console. Implementations must
/// be cheap and read-only; the engine calls them from one sampling thread.
public protocol QueueProbe: Sendable {
    func readDepths() -> [QueueDepth]
    /// The broker's reachability, when the probe watches a broker.
    var brokerStatus: BrokerStatus? { get }
    /// Dispatches waiting for the broker to come back.
    var outboxWaiting: Int { get }
}

extension QueueProbe {
    public var brokerStatus: BrokerStatus? { nil }
    public var outboxWaiting: Int { 0 }
}

/// Returns the seconds since the Unix epoch from the system clock. The
/// engine reads it a few times per batch, so it skips the conversion to
/// and from `Date`'s reference date.
public func wallClockSeconds() -> Double {
    var spec = timespec()
    clock_gettime(CLOCK_REALTIME, &spec)
    // A multiplication, not a division: the result may differ in the last
    // bit, far below the clock's own resolution, and it is several times quicker.
    return Double(spec.tv_sec) + Double(spec.tv_nsec) * 1e-9
}

/// The invalidation engine: evaluates events against the rules, hands
/// batches to dispatchers, and keeps the figures the console shows.
public final class Engine: Sendable {
    public let rules: RuleSet
    public let registry: DispatcherRegistry
    public let cache: CacheContext
    public let faults = FaultInjector()
    public let executor: BatchExecutor
    public let logger: Logger
    let evaluator: RuleEvaluator
    private let globalRaiseException: Bool
    let tracker: BatchTracker
    /// The rules of the last batch of each batch group, by group number.
    private let groupMembers: [GroupMembers]
    private let nextBatchID = Atomic<UInt64>(0)
    private let events = Mutex(EventState())
    private let probes = Mutex<[any QueueProbe]>([])
    private let queues = Mutex(QueueState())

    private struct EventState {
        var counters = EventCounters()
        var rate = RateCounter()
    }

    private struct QueueState {
        var depths: [QueueDepth] = []
        var history: [String: [Int]] = [:]
        var brokerStatus: BrokerStatus?
        var cacheStatus: CacheStatus?
        var outboxWaiting = 0
    }

    /// - Parameters:
    ///   - journal: where failed batches are recorded; nil keeps no record
    ///     beyond the log (for benchmarks and tests of evaluation only).
    ///   - onBatchFinished: called on the finishing thread for every batch that ends.
    ///   - brokerLabel: the label of the broker that broker dispatchers send
    ///     to. It is journalled with their failures, so that a replay can
    ///     check it uses the same broker. nil skips that check.
    ///   - brokerIsRemote: whether that broker's workers run in another
    ///     process. Their batches' failures then record no cache store,
    ///     because the workers drop entries from their own cache.
    public init(
        rules: RuleSet, registry: DispatcherRegistry, cache: CacheContext, journal: FailureJournal?,
        logger: Logger = .disabled, clock: @escaping @Sendable () -> Double = wallClockSeconds,
        onBatchFinished: (@Sendable (FinishedBatch) -> Void)? = nil, brokerLabel: String? = nil, brokerIsRemote: Bool = false
    ) {
        self.rules = rules
        self.registry = registry
        self.cache = cache
        self.logger = logger
        evaluator = RuleEvaluator(rules: rules)
        let groupCount = rules.compiled.reduce(0) { max($0, ($1.batchGroup ?? -1) + 1) }
        groupMembers = (0..<groupCount).map { _ in GroupMembers() }
        globalRaiseException = rules.configuration.settings.raiseException
        tracker = BatchTracker(rules: rules.compiled)
        executor = BatchExecutor(
            runner: RuleRunner(rules: rules, cache: cache, logger: logger.child("rules")), tracker: tracker,
            journal: journal, faults: faults, logger: logger.child("batches"), clock: clock, observer: onBatchFinished,
            brokerLabel: brokerLabel, brokerIsRemote: brokerIsRemote)
    }

    /// The label of the broker that broker dispatchers send to, when the engine was given one.
    public var brokerLabel: String? { executor.brokerLabel }

    public var journal: FailureJournal? { executor.journal }

    // MARK: - Events

    /// Evaluates `event` and dispatches its batches.
    ///
    /// - Parameter index: the 0-based position of the event in its source.
    @discardableResult
    public func process(_ event: ChangeEvent, index: Int? = nil) -> EventResult {
        let now = executor.now
        var result = EventResult()
        if event.signal == .postSave, !event.created, let fields = event.updateFields, fields.isEmpty {
            result.skippedEmptyUpdate = true
            events.withLock { state in
                state.counters.read += 1
                state.counters.skippedEmpty += 1
                state.rate.add(atSecond: Int64(now))
            }
            return result
        }
        var dispatches = 0
        // The closure takes only what batches copy, not the whole event
        // (whose fields and update_fields would be retained for it).
        let origin = BatchOrigin(model: event.model, pk: event.pk, signal: event.signal, index: index, createdAt: now)
        evaluator.withFiredRules(event) { fired in
            withUnsafeTemporaryAllocation(of: BatchTracker.InlineRun.self, capacity: fired.count) { buffer in
                var inline = InlineRuns(buffer: buffer)
                RuleEvaluator.forEachDispatch(fired) { first, group in
                    let compiled = rules.compiled[fired[first].index]
                    let id = makeBatchID()
                    dispatches += 1
                    result.appendBatchID(id)
                    if group == nil, compiled.runsInline, executor.allowsInlineShortcut(for: compiled.dispatcherName) {
                        if let error = runInline(fired[first], id: id, origin: origin, runs: &inline) {
                            result.raised.append(error)
                        }
                        return
                    }
                    record(&inline, origin: origin)
                    let batch = makeBatch(fired, first: first, group: group, origin: origin, id: id)
                    if let error = dispatch(batch, via: compiled.dispatcher) {
                        result.raised.append(error)
                    }
                }
                record(&inline, origin: origin)
            }
        }
        events.withLock { state in
            state.counters.read += 1
            state.counters.dispatches += UInt64(dispatches)
            state.rate.add(atSecond: Int64(now))
        }
        return result
    }

    /// Counts an event line that could not be used, for the header.
    public func recordRejectedLine(_ line: Int, error: EventDecodingError) {
        logger.warning("Event line rejected", [(LogKey.line, String(line)), (LogKey.error, error.reason)])
        events.withLock { state in
            state.counters.rejected += 1
            state.counters.lastRejection = "line \(line): \(error.reason)"
        }
    }

    /// Queues `batch` and hands it to `dispatcher`; returns a failure the
    /// dispatcher raised under the error policy.
    @discardableResult
    public func dispatch(_ batch: Batch, via dispatcher: any Dispatcher, redeliver: Bool = false) -> BatchError? {
        if !dispatcher.runsOnCallingThread {
            executor.queued(batch)
        }
        do {
            if redeliver {
                try dispatcher.redeliver(batch, executor: executor)
            } else {
                try dispatcher.dispatch(batch, executor: executor)
            }
            return nil
        } catch {
            logRaised(batch, error)
            return error
        }
    }

    func logRaised(_ batch: Batch, _ error: BatchError) {
        logger.info(
            "Dispatcher raised a failed batch",
            [(LogKey.batchID, String(batch.id)), (LogKey.dispatcher, batch.dispatcher), (LogKey.error, error.description)])
    }

    /// A fresh batch id.
    public func makeBatchID() -> UInt64 {
        nextBatchID.wrappingAdd(1, ordering: .relaxed).newValue
    }

    /// Builds the batch of the dispatch call that starts at `fired[first]`:
    /// that rule alone when `group` is nil, else every rule of the group
    /// from there on. Its dispatcher is that of the call's first rule.
    @inline(__always)
    private func makeBatch(
        _ fired: UnsafeBufferPointer<RuleEvaluator.FiredRule>, first: Int, group: Int?, origin: BatchOrigin, id: UInt64
    ) -> Batch {
        let lead = rules.compiled[fired[first].index]
        guard let group else {
            return soloBatch(lead, arguments: fired[first].arguments, origin: origin, id: id)
        }
        var count = 0
        for rule in fired[first...] where rule.group == group { count += 1 }
        var kwargs = JSONObject(capacity: count)
        var ids: [String]
        var numbers: [Int]
        var raise = false
        let members = groupMembers[group]
        let reused = members.last.withLock { last -> ([String], [Int])? in
            guard last.indices.count == count else { return nil }
            var position = 0
            for rule in fired[first...] where rule.group == group {
                if last.indices[position] != rule.index { return nil }
                position += 1
            }
            return (last.ids, last.numbers)
        }
        if let (sharedIDs, sharedNumbers) = reused {
            ids = sharedIDs
            numbers = sharedNumbers
        } else {
            ids = []
            numbers = []
            var indices: [Int] = []
            ids.reserveCapacity(count)
            numbers.reserveCapacity(count)
            indices.reserveCapacity(count)
            for rule in fired[first...] where rule.group == group {
                let compiled = rules.compiled[rule.index]
                ids.append(compiled.rule.id)
                numbers.append(compiled.rule.restflowID)
                indices.append(rule.index)
            }
            members.last.withLock { [ids, numbers] last in
                last = GroupMembers.Last(indices: indices, ids: ids, numbers: numbers)
            }
        }
        for rule in fired[first...] where rule.group == group {
            let compiled = rules.compiled[rule.index]
            raise = raise || ErrorPolicy.resolve(
                rule: compiled.rule.raiseException, dispatcher: lead.dispatcherRaiseException, global: globalRaiseException)
            kwargs.appendUnchecked(compiled.rule.id, .object(rule.arguments))
        }
        return Batch(
            id: id, dispatcher: lead.dispatcherName, batchKey: lead.batchKey, model: origin.model, pk: origin.pk,
            signal: origin.signal, eventIndex: origin.index, ruleIDs: ids, restflowRuleIDs: numbers, ruleKwargs: kwargs,
            options: lead.dispatcherOptions, raiseException: raise, createdAt: origin.createdAt)
    }

    /// Builds batch `id` of one rule alone.
    func soloBatch(_ compiled: CompiledRule, arguments: JSONObject, origin: BatchOrigin, id: UInt64) -> Batch {
        var kwargs = JSONObject(capacity: 1)
        kwargs.appendUnchecked(compiled.rule.id, .object(arguments))
        let raise = ErrorPolicy.resolve(
            rule: compiled.rule.raiseException, dispatcher: compiled.dispatcherRaiseException, global: globalRaiseException)
        return Batch(
            id: id, dispatcher: compiled.dispatcherName, batchKey: compiled.batchKey, model: origin.model, pk: origin.pk,
            signal: origin.signal, eventIndex: origin.index, ruleIDs: compiled.soloRuleIDs,
            restflowRuleIDs: compiled.soloRestflowIDs, ruleKwargs: kwargs, options: compiled.dispatcherOptions,
            raiseException: raise, createdAt: origin.createdAt)
    }

    /// The rules of the last batch built for one batch group. Events of a
    /// model usually fire the same rules, so their batches share these
    /// arrays instead of building two new ones per batch.
    private final class GroupMembers: Sendable {
        struct Last {
            /// Rule indices, in the order of `ids` and `numbers`.
            var indices: [Int] = []
            var ids: [String] = []
            var numbers: [Int] = []
        }

        let last = Mutex(Last())
    }

    /// The event's model, key and signal, its position and the time it was
    /// read: the parts of an event that each of its batches copies.
    struct BatchOrigin {
        var model: String
        var pk: JSONValue
        var signal: ChangeSignal
        var index: Int?
        var createdAt: Double
    }

    /// Batches queued, running or waiting for a retry.
    public var unfinishedBatches: Int { tracker.unfinishedCount }

    /// Blocks until every dispatched batch has ended or `timeout` seconds
    /// pass; returns whether all ended.
    public func waitUntilIdle(timeout: Double) -> Bool {
        executor.waitUntilIdle(timeout: timeout)
    }

    // MARK: - Queues

    /// Adds a broker probe; its queues appear in snapshots after the next sample.
    public func addQueueProbe(_ probe: any QueueProbe) {
        probes.withLock { $0.append(probe) }
    }

    /// Reads every probe and the cache store's status once, and appends a
    /// sample to each queue's history. The console calls this once a second
    /// from a background thread.
    public func sampleQueues() {
        let current = probes.withLock { $0 }
        var depths: [QueueDepth] = []
        var status: BrokerStatus?
        var outbox = 0
        for probe in current {
            depths += probe.readDepths()
            status = probe.brokerStatus ?? status
            outbox += probe.outboxWaiting
        }
        let cacheStatus = cache.store.status
        queues.withLock { state in
            state.depths = depths
            state.brokerStatus = status
            state.cacheStatus = cacheStatus
            state.outboxWaiting = outbox
            for depth in depths {
                var series = state.history[depth.name] ?? []
                series.append(depth.ready ?? 0)
                if series.count > 60 { series.removeFirst(series.count - 60) }
                state.history[depth.name] = series
            }
        }
    }

    // MARK: - Snapshot

    /// An immutable copy of everything the console shows.
    public func snapshot(liveLimit: Int = 500) -> EngineSnapshot {
        let now = executor.now
        let (figures, live) = tracker.snapshot(at: now, liveLimit: liveLimit)
        var dispatchers: [DispatcherSnapshot] = []
        let faultSettings = faults.all
        for name in rules.registeredDispatcherNames {
            var snapshot = figures[name] ?? DispatcherSnapshot(name: name, runsOn: "", batching: false, ruleCount: 0)
            let dispatcher = rules.dispatchersByName[name]
            snapshot.runsOn = dispatcher?.runsOn ?? "?"
            snapshot.batching = dispatcher?.supportsBatching ?? false
            snapshot.ruleCount = rules.ruleCount(dispatcher: name)
            snapshot.fault = faultSettings[name]
            dispatchers.append(snapshot)
        }
        let eventCounters = events.withLock { state in
            var counters = state.counters
            counters.ratePerSecond = state.rate.rate(window: 1, atSecond: Int64(now))
            return counters
        }
        let queueState = queues.withLock { $0 }
        let queueSnapshots = queueState.depths.map { QueueSnapshot(depth: $0, history: queueState.history[$0.name] ?? []) }
        return EngineSnapshot(
            time: now, dispatchers: dispatchers, liveBatches: live, queues: queueSnapshots,
            failures: journal?.listing() ?? FailureListing(), events: eventCounters,
            outboxWaiting: queueState.outboxWaiting, brokerStatus: queueState.brokerStatus, cacheStatus: queueState.cacheStatus)
    }
}
