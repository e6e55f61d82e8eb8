import Foundation

/// How a replay runs.
public struct ReplayOptions: Sendable {
    /// Replay entries already resolved too.
    public var force: Bool
    /// Send through this dispatcher instead of the one that failed; shown
    /// before it runs and recorded with the outcome.
    public var dispatcherOverride: String?
    /// Items per second at most; nil for no limit.
    public var ratePerSecond: Double?
    /// How long to wait for each item's outcome, in seconds.
    public var outcomeTimeout: Double
    /// Returns why an entry must not go through a dispatcher, or nil to
    /// replay it. Such an entry is blocked with that reason and the journal
    /// is left as it was. A read-only replay uses it to keep entries off a
    /// real broker.
    public var blockReason: (@Sendable (any Dispatcher) -> String?)?

    public init(force: Bool = false, dispatcherOverride: String? = nil, ratePerSecond: Double? = 200, outcomeTimeout: Double = 30) {
        self.force = force
        self.dispatcherOverride = dispatcherOverride
        self.ratePerSecond = ratePerSecond
        self.outcomeTimeout = outcomeTimeout
    }
}

/// What happened to one replayed entry.
public enum ReplayOutcome: Sendable, Equatable {
    case done
    case failed(String)
    /// Handed to an external broker; its workers report elsewhere.
    case sent
    /// Not replayed, with the reason (already resolved, rule gone or changed, no such entry).
    case skipped(String)
    /// Not replayed until the operator changes something, with the reason:
    /// the entry failed against another cache store or broker, replaying it
    /// needs `--write`, or the `--dispatcher` given cannot run its rules.
    /// Its label is `skipped` too.
    case blocked(String)
    /// Still running when the wait ended; its outcome goes to the journal when it ends.
    case pending
    /// The broker was unreachable; the batch waits in the outbox.
    case outbox

    public var label: String {
        switch self {
        case .done: return "done"
        case .failed: return "failed"
        case .sent: return "sent"
        case .skipped, .blocked: return "skipped"
        case .pending: return "pending"
        case .outbox: return "outbox"
        }
    }

    public var detail: String? {
        switch self {
        case .failed(let reason), .skipped(let reason), .blocked(let reason): return reason
        default: return nil
        }
    }
}

/// One item's result.
public struct ReplayItem: Sendable, Equatable {
    public var journalID: Int64
    public var dispatcher: String
    public var outcome: ReplayOutcome
}

/// Progress after each item.
public struct ReplayProgress: Sendable {
    public var completed: Int
    public var total: Int
    public var last: ReplayItem
}

/// The closing count of a replay.
public struct ReplaySummary: Sendable, Equatable {
    public var items: [ReplayItem] = []

    public func count(_ label: String) -> Int { items.filter { $0.outcome.label == label }.count }
    public var succeeded: Int { count("done") }
    public var failed: Int { count("failed") }
    public var skipped: Int { count("skipped") }
    public var sent: Int { count("sent") }
    public var pending: Int { count("pending") }
    /// Skipped entries that need the operator to act (see ``ReplayOutcome/blocked(_:)``).
    public var blocked: Int {
        items.filter { item in
            if case .blocked = item.outcome { return true }
            return false
        }.count
    }

    /// "12 entries: 10 done, 1 failed, 1 skipped".
    public var closingLine: String {
        var parts = ["\(succeeded) done", "\(failed) failed"]
        if sent > 0 { parts.append("\(sent) sent") }
        if pending > 0 { parts.append("\(pending) pending") }
        if count("outbox") > 0 { parts.append("\(count("outbox")) in the outbox") }
        parts.append("\(skipped) skipped")
        return "\(items.count) \(items.count == 1 ? "entry" : "entries"): " + parts.joined(separator: ", ")
    }
}

/// Re-dispatches journalled failures.
///
/// Each entry goes back through its dispatcher (or an override) with its
/// original options; a broker dispatcher sends the stored payload byte for
/// byte. An entry whose rules are gone or changed since it failed is skipped
/// and counted, never run against a different rule. Replaying all is
/// resumable: it walks open entries in id order, and entries resolved by an
/// earlier, interrupted run are skipped.
public final class Replayer: Sendable {
    public let engine: Engine

    public init(engine: Engine) {
        self.engine = engine
    }

    /// Replays the entries with these journal ids, in the order given.
    public func replay(
        ids: [Int64], options: ReplayOptions = ReplayOptions(), stop: StopFlag = StopFlag(),
        progress: (ReplayProgress) -> Void = { _ in }
    ) -> ReplaySummary {
        var summary = ReplaySummary()
        let pacer = Pacer(ratePerSecond: options.ratePerSecond)
        // Read once: the outbox drainer only removes batches meanwhile, and
        // marks the entries they replay resolved as it sends them.
        let waiting = (try? engine.journal?.outboxReplays()) ?? []
        for id in ids {
            if stop.isStopped { break }
            pacer.wait()
            let item = replayOne(id, options: options, waitingInOutbox: waiting)
            summary.items.append(item)
            progress(ReplayProgress(completed: summary.items.count, total: ids.count, last: item))
        }
        return summary
    }

    /// Replays every entry matching `filter`, oldest first.
    public func replayAll(
        filter: FailureFilter = FailureFilter(), options: ReplayOptions = ReplayOptions(), stop: StopFlag = StopFlag(),
        progress: (ReplayProgress) -> Void = { _ in }
    ) -> ReplaySummary {
        guard let journal = engine.journal else { return ReplaySummary() }
        var filter = filter
        if options.force { filter.statuses = FailureStatus.allCases }
        var ids: [Int64] = []
        var cursor: Int64 = 0
        while let page = try? journal.entries(filter, after: cursor, limit: 5000), !page.isEmpty {
            ids += page.map(\.id)
            cursor = page.last!.id
        }
        return replay(ids: ids, options: options, stop: stop, progress: progress)
    }

    /// Checks whether an entry can be replayed as it stands; nil when it can.
    public func reasonToSkip(_ record: FailureRecord, force: Bool) -> String? {
        skipOutcome(record, force: force)?.detail
    }

    /// Returns the outcome of an entry that cannot be replayed as it is:
    /// skipped, or blocked when the operator must run the replay differently.
    private func skipOutcome(_ record: FailureRecord, force: Bool) -> ReplayOutcome? {
        if record.status == .resolved && !force {
            return .skipped("already resolved (\(record.resolution ?? "earlier")); dispatchtop replay --force runs it again")
        }
        if record.status == .retrying && !force {
            return .skipped("the broker is still retrying it")
        }
        if let recorded = record.cache, recorded != engine.cache.store.label {
            return .blocked(Self.otherCacheReason(recorded: recorded, current: engine.cache.store.label))
        }
        if let recorded = record.broker, let current = engine.brokerLabel, recorded != current {
            return .blocked(Self.otherBrokerReason(recorded: recorded, current: current))
        }
        for id in record.batch.ruleIDs {
            guard let rule = engine.rules.rule(id: id) else {
                return .skipped("rule '\(id)' is no longer in the configuration")
            }
            if let stored = record.ruleFingerprints[id], stored != rule.fingerprint {
                return .skipped("rule '\(id)' has changed since the batch failed")
            }
        }
        return nil
    }

    /// The start of the reason for blocking an entry that failed against another cache store.
    public static let otherCachePrefix = "it failed against the cache"

    /// Says which cache an entry failed against and how to replay it there.
    /// Running it against another store would drop nothing where the stale
    /// entries are, yet mark the failure resolved.
    static func otherCacheReason(recorded: String, current: String) -> String {
        // A Redis store's label is "redis <url>"; after "the cache" the URL alone reads better.
        func shown(_ label: String) -> String { label.hasPrefix("redis redis") ? String(label.dropFirst("redis ".count)) : label }
        return elsewhereReason(
            otherCachePrefix, recorded: shown(recorded), current: shown(current), inProcess: "memory",
            inProcessFix: "replay without --cache, with the embedded memory store it used",
            remoteFix: "replay with --cache set to that store")
    }

    /// The reason for skipping an entry that an earlier replay left in the
    /// outbox when the broker was unreachable: the outbox sends it, so
    /// replaying it again would send it twice.
    public static let waitingInOutboxReason =
        "an earlier replay of it waits in the outbox, which sends it when the broker answers"

    /// Returns why `dispatcher` cannot run the batch's rules, or nil. A
    /// rule with a custom invalidator runs in this process, so a broker
    /// dispatcher (given with `--dispatcher`) would send work that no worker
    /// can do, as the configuration check rejects for such a rule.
    static func overrideConflict(_ batch: Batch, dispatcher: any Dispatcher, rules: RuleSet) -> String? {
        guard !dispatcher.runsInProcess else { return nil }
        for id in batch.ruleIDs {
            if let invalidator = rules.rule(id: id)?.invalidator {
                return "\(overrideConflictPrefix) '\(dispatcher.name)' cannot replay it: rule '\(id)' has the invalidator "
                    + "'\(invalidator)', which runs in this process; replay it through inline, threadpool or asyncio"
            }
        }
        return nil
    }

    /// The start of the reason ``overrideConflict(_:dispatcher:rules:)`` gives.
    public static let overrideConflictPrefix = "the broker dispatcher"

    /// The start of the reason for blocking an entry that was sent to another broker.
    public static let otherBrokerPrefix = "it was sent to the broker"

    /// Returns a reason naming the broker an entry was sent to and how to
    /// replay it there. Sending it to another broker would reach none of the
    /// workers that drop the stale entries, yet mark the failure resolved.
    static func otherBrokerReason(recorded: String, current: String) -> String {
        elsewhereReason(
            otherBrokerPrefix, recorded: recorded, current: current, inProcess: "embedded",
            inProcessFix: "replay without --broker, with the embedded broker it used",
            remoteFix: "replay with --broker set to that broker")
    }

    /// Names where an entry failed, where this replay runs, and the fix:
    /// `inProcessFix` when it failed on the in-process store or broker
    /// (labelled `inProcess`), otherwise `remoteFix` with the recorded URL.
    private static func elsewhereReason(
        _ prefix: String, recorded: String, current: String, inProcess: String, inProcessFix: String, remoteFix: String
    ) -> String {
        let fix = recorded == inProcess ? inProcessFix : "\(remoteFix) (\(recorded), with its password if it has one)"
        return "\(prefix) \(recorded), and this replay uses \(current); \(fix)"
    }

    private func replayOne(_ id: Int64, options: ReplayOptions, waitingInOutbox: Set<Int64>) -> ReplayItem {
        guard let journal = engine.journal else {
            return ReplayItem(journalID: id, dispatcher: "?", outcome: .skipped("no journal is open"))
        }
        let record: FailureRecord
        do {
            guard let found = try journal.entry(id) else {
                return ReplayItem(journalID: id, dispatcher: "?", outcome: .skipped("no journal entry \(id)"))
            }
            record = found
        } catch {
            return ReplayItem(journalID: id, dispatcher: "?", outcome: .skipped("cannot read the journal: \(error)"))
        }
        let name = options.dispatcherOverride ?? record.batch.dispatcher
        if waitingInOutbox.contains(id) {
            return ReplayItem(journalID: id, dispatcher: name, outcome: .skipped(Self.waitingInOutboxReason))
        }
        if let outcome = skipOutcome(record, force: options.force) {
            return ReplayItem(journalID: id, dispatcher: name, outcome: outcome)
        }
        let dispatcher: any Dispatcher
        do {
            dispatcher = try makeDispatcher(name, record: record, overridden: options.dispatcherOverride != nil)
        } catch {
            return ReplayItem(journalID: id, dispatcher: name, outcome: .skipped("cannot build dispatcher '\(name)': \(error)"))
        }
        if let reason = options.blockReason?(dispatcher) ?? Self.overrideConflict(record.batch, dispatcher: dispatcher, rules: engine.rules) {
            return ReplayItem(journalID: id, dispatcher: name, outcome: .blocked(reason))
        }
        var batch = record.batch
        batch.id = engine.makeBatchID()
        batch.dispatcher = dispatcher.name
        batch.batchKey = dispatcher.batchKey
        batch.replayOf = id
        batch.attempt = 1
        batch.createdAt = engine.executor.now
        // A different dispatcher cannot take another system's bytes.
        if options.dispatcherOverride != nil && options.dispatcherOverride != record.batch.dispatcher {
            batch.payload = nil
            batch.options = dispatcher.resolvedOptions
        }
        let waiter = engine.executor.expectOutcome(of: batch.id)
        let raised = engine.dispatch(batch, via: dispatcher, redeliver: batch.payload != nil)
        var outcome: ReplayOutcome
        if let result = waiter.wait(timeout: options.outcomeTimeout) {
            switch result {
            case .done: outcome = .done
            case .sent: outcome = .sent
            case .outbox: outcome = .outbox
            case .failed(let error): outcome = .failed(error.description)
            }
        } else {
            engine.executor.forgetOutcome(of: batch.id)
            outcome = raised.map { .failed($0.description) } ?? .pending
        }
        try? journal.recordReplay(
            id, dispatcher: dispatcher.name, outcome: outcome.label, error: outcome.detail, forced: options.force,
            at: engine.executor.now)
        engine.logger.info(
            "Replayed a journalled batch",
            [(LogKey.journalID, String(id)), (LogKey.batchID, String(batch.id)), (LogKey.dispatcher, dispatcher.name),
             ("outcome", outcome.label)])
        return ReplayItem(journalID: id, dispatcher: dispatcher.name, outcome: outcome)
    }

    /// The dispatcher with the entry's original options, or the override's
    /// configured options.
    private func makeDispatcher(_ name: String, record: FailureRecord, overridden: Bool) throws -> any Dispatcher {
        if overridden && name != record.batch.dispatcher {
            guard let configured = engine.rules.dispatchersByName[name] else {
                throw DispatcherRegistryError.unknownName(name, registered: engine.rules.registeredDispatcherNames)
            }
            return configured
        }
        let options = DispatcherOptions(
            dispatcher: name, values: record.batch.options,
            globalRaiseException: engine.rules.configuration.settings.raiseException)
        return try engine.registry.make(name, options: options)
    }
}

/// Spaces calls out to a rate.
final class Pacer {
    private let interval: Double
    private var next = Date().timeIntervalSince1970

    init(ratePerSecond: Double?) {
        interval = ratePerSecond.map { $0 > 0 ? 1 / $0 : 0 } ?? 0
    }

    func wait() {
        guard interval > 0 else { return }
        let now = Date().timeIntervalSince1970
        if next > now { usleep(UInt32((next - now) * 1_000_000)) }
        next = max(next, now) + interval
    }
}
