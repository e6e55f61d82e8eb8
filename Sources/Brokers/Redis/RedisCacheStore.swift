import Engine
import Foundation
import Synchronization

/// A cache store on Redis with Django's key layout, `KEY_PREFIX:version:key`.
///
/// Keys are stored exactly as given. The engine builds them with
/// ``DjangoCacheKey``, which is the key django-redis writes for a Django
/// cache entry, so the engine drops entries that a Django application
/// cached. Values are stored as given, unchanged.
///
/// Prefix drops work the way django-redis deletes a pattern: SCAN with a
/// MATCH pattern, then UNLINK of each key found. Redis has no prefix index,
/// so every SCAN pass walks the whole keyspace of the database. To keep that
/// from happening once per rule, drops that arrive close together share one
/// pass:
///
/// - A drop that finds no pass running starts one (after
///   ``Options/gatherWindow``, zero by default) for all drops waiting at
///   that moment. Drops that arrive during a pass wait for the next one,
///   which one of them runs.
/// - Before a pass starts, it waits a moment (``Options/handOverWindow``)
///   for the callers the last pass released, which mostly come back with
///   their next drops. Under concurrent load passes fill up this way. A
///   lone caller does not wait unless ``Options/gatherWindow`` is set.
/// - A pass sends `SCAN cursor MATCH <pattern> COUNT <scanCount>` until the
///   cursor returns to 0. The pattern matches every key under any of the
///   pass's prefixes (see ``matchPattern(_:)``). Every key it returns is
///   tested against all of them at once, in one walk down a byte trie of
///   the prefixes. Matching keys are removed with one UNLINK per key,
///   pipelined with the next SCAN call, so each drop's count is exact.
///
/// Cost per pass: about `keyspace / scanCount` SCAN round trips, each
/// walking about `scanCount` keys on the server, plus one round trip for
/// the last UNLINKs and one UNLINK per deleted key. The cost grows with the
/// keyspace per pass, not per rule: k drops gathered into one pass cost one
/// walk, not k.
///
/// - Important: a drop that arrives while a pass runs waits for that pass
///   and its own, so its latency is at most about two passes and a quarter
///   (with the default hand-over share). Keys written under a prefix while
///   its pass runs may survive it, as with any SCAN-based deletion.
public final class RedisCacheStore: CacheStore {
    public struct Options: Sendable {
        /// The COUNT hint of each SCAN call: about how many keys Redis
        /// walks per call. Fewer calls per pass mean fewer round trips, so
        /// passes end sooner, but Redis serves no other client while a
        /// call runs. Redis 7.0.15 spent 0.15 to 0.2 µs per key walked on a
        /// 2-core machine, so a call of 5,000 keys blocks it for about a
        /// millisecond. There, on a cache of 10,000 keys, the engine's drop
        /// rate rose from about 1,700 to about 2,000 events/s going from a
        /// COUNT of 1,000 to 5,000, and 10,000 gave no more.
        public var scanCount: Int
        /// Seconds the first drop of a pass waits for others to join it,
        /// when no pass was running.
        public var gatherWindow: Double
        /// The maximum wait, in seconds, of a pass for the callers the pass
        /// before it released (see ``RedisCacheStore``).
        public var handOverWindow: Double
        /// The maximum of that wait as a share of the last pass's duration.
        /// On a small keyspace passes are short, and so are the waits.
        public var handOverShare: Double

        public init(scanCount: Int = 5000, gatherWindow: Double = 0, handOverWindow: Double = 0.0003, handOverShare: Double = 0.25) {
            self.scanCount = scanCount
            self.gatherWindow = gatherWindow
            self.handOverWindow = handOverWindow
            self.handOverShare = handOverShare
        }
    }

    /// Figures about the prefix-drop passes run so far.
    public struct DropStatistics: Sendable, Equatable {
        public var passes = 0
        public var drops = 0
        public var scanCalls = 0
        /// Keys SCAN returned, matching the pass's pattern, before the exact test.
        public var keysReturned = 0
        public var keysDeleted = 0
    }

    public let connection: RedisConnection
    public let options: Options
    private let drops = Mutex(DropQueue())
    /// Signalled when a call joins while the next pass's leader waits for returning callers.
    private let callerReturned = DispatchSemaphore(value: 0)
    private let statistics = Mutex(DropStatistics())

    public init(connection: RedisConnection, options: Options = Options()) {
        self.connection = connection
        self.options = options
    }

    public convenience init(url: RedisURL, options: Options = Options(), logger: Logger = .disabled) {
        self.init(connection: RedisConnection(url: url, logger: logger.child("redis.cache")), options: options)
    }

    public var label: String { "redis \(connection.url)" }

    /// The number of keys in the whole database (DBSIZE, O(1)), which
    /// counts every key, not only cache entries; nil when Redis is unreachable.
    public var entryCount: Int? {
        (try? connection.execute(RedisCommand("DBSIZE")))?.integerValue.map { Int($0) }
    }

    public var dropStatistics: DropStatistics { statistics.withLock { $0 } }

    /// The result of a PING: up when Redis replies. The PING waits for a
    /// drop pass that has the connection, and while Redis is down the
    /// connection's backoff makes it fail at once.
    public var status: CacheStatus? {
        do {
            _ = try connection.execute(RedisCommand("PING"))
            return CacheStatus(label: label, isUp: true)
        } catch {
            return CacheStatus(label: label, isUp: false, detail: error.message)
        }
    }

    // MARK: - Single keys

    public func set(_ key: String, _ value: [UInt8]) throws(CacheStoreError) {
        try run { () throws(RedisError) in
            _ = try connection.execute(RedisCommand("SET", key, value))
        }
    }

    public func get(_ key: String) throws(CacheStoreError) -> [UInt8]? {
        try run { () throws(RedisError) in try connection.execute(RedisCommand("GET", key)).bytesValue }
    }

    @discardableResult
    public func delete(_ key: String) throws(CacheStoreError) -> Bool {
        try run { () throws(RedisError) in try connection.execute(RedisCommand("UNLINK", key)).integerValue == 1 }
    }

    // MARK: - Prefix drops

    @discardableResult
    public func deletePrefix(_ prefix: String) throws(CacheStoreError) -> Int {
        try deletePrefixes([prefix])[0].get()
    }

    /// Drops several prefixes as one request: they join the pending pass
    /// together (all in the same pass), and each gets its own exact count.
    /// The rule runner sends a batch's drops this way, so a batch of seven
    /// rules costs one share of one pass rather than seven.
    public func deletePrefixes(_ prefixes: [String]) -> [Result<Int, CacheStoreError>] {
        guard !prefixes.isEmpty else { return [] }
        let batch = prefixes.map { PendingDrop(prefix: Array($0.utf8)) }
        let (leads, signalsReturn) = drops.withLock { queue -> (Bool, Bool) in
            queue.pending.append(contentsOf: batch)
            queue.pendingCallers += 1
            queue.returnedCallers += 1
            let signalsReturn = queue.leaderAwaitsReturns
            queue.leaderAwaitsReturns = false
            guard !queue.passRunning else { return (false, signalsReturn) }
            queue.passRunning = true
            return (true, signalsReturn)
        }
        if signalsReturn { callerReturned.signal() }
        if leads {
            if options.gatherWindow > 0 { Thread.sleep(forTimeInterval: options.gatherWindow) }
            awaitReturningCallers()
            runPass()
        } else {
            // Drops are appended and taken from the queue together, so the
            // first one is the only one that can be handed the lead, and the
            // pass that serves it serves the others. Each of them is woken
            // once, when its result is set.
            batch[0].wake.wait()
            if batch[0].outcome.withLock({ $0.isLeadership }) {
                awaitReturningCallers()
                runPass()
            }
            for drop in batch.dropFirst() { drop.wake.wait() }
        }
        return batch.map { drop in
            guard case .done(let result) = drop.outcome.withLock({ $0 }) else {
                preconditionFailure("a prefix drop returned before its pass finished")
            }
            return result
        }
    }

    /// Runs one pass over every waiting drop, then hands the lead to a drop
    /// that arrived meanwhile, or ends the run when none did.
    private func runPass() {
        let (batch, callers) = drops.withLock { queue -> ([PendingDrop], Int) in
            defer {
                queue.pending.removeAll()
                queue.pendingCallers = 0
            }
            return (queue.pending, queue.pendingCallers)
        }
        let started = DispatchTime.now().uptimeNanoseconds
        let results = scanAndUnlink(batch.map(\.prefix))
        let passNanoseconds = DispatchTime.now().uptimeNanoseconds - started
        drops.withLock { queue in
            queue.releasedCallers = callers
            queue.returnedCallers = 0
            queue.lastPassNanoseconds = passNanoseconds
            queue.releasedAt = started + passNanoseconds
        }
        for (drop, result) in zip(batch, results) {
            drop.outcome.withLock { $0 = .done(result) }
            drop.wake.signal()
        }
        drops.withLock { queue in
            if let next = queue.pending.first {
                next.outcome.withLock { $0 = .lead }
                next.wake.signal()
            } else {
                queue.passRunning = false
            }
        }
    }

    /// Before a pass, waits briefly for the callers the last pass released
    /// to come back with their next drops.
    ///
    /// Without it, the next pass starts the moment the last one ends (or the
    /// moment the first released caller comes back), with only the drops
    /// that arrived by then. The other released threads come back a few tens
    /// of microseconds later and wait a whole pass, so under steady load only
    /// about half of them share each pass. The wait ends when every released
    /// caller has come back, and at the latest ``Options/handOverWindow``
    /// after the last pass ended (or ``Options/handOverShare`` of that pass's
    /// duration, when shorter). A caller with nothing more to drop therefore
    /// delays the others by little. A lone caller is the only one its pass
    /// released, so it does not wait.
    private func awaitReturningCallers() {
        let deadlineNanoseconds = drops.withLock { queue in
            let window = max(0, min(options.handOverWindow * 1e9, options.handOverShare * Double(queue.lastPassNanoseconds)))
            return queue.releasedAt + UInt64(window)
        }
        guard deadlineNanoseconds > DispatchTime.now().uptimeNanoseconds else { return }
        let deadline = DispatchTime(uptimeNanoseconds: deadlineNanoseconds)
        while true {
            let waits = drops.withLock { queue -> Bool in
                queue.leaderAwaitsReturns = queue.returnedCallers < queue.releasedCallers
                return queue.leaderAwaitsReturns
            }
            guard waits else { return }
            if callerReturned.wait(timeout: deadline) == .timedOut {
                drops.withLock { $0.leaderAwaitsReturns = false }
                return
            }
        }
    }

    /// One SCAN pass for several prefixes; returns each prefix's deleted count.
    ///
    /// The UNLINKs of the keys one SCAN call found go out in the same
    /// pipeline as the next SCAN call. A pass therefore costs one round trip
    /// per SCAN call plus one for the last call's UNLINKs, not two per call.
    private func scanAndUnlink(_ prefixes: [[UInt8]]) -> [Result<Int, CacheStoreError>] {
        let matcher = PrefixMatcher(prefixes)
        let pattern = Self.matchPattern(prefixes)
        var counts = [Int](repeating: 0, count: prefixes.count)
        var cursor: [UInt8] = Array("0".utf8)
        var scanCalls = 0
        var returned = 0
        var deleted = 0
        // Keys found by the last SCAN call whose UNLINK is not sent yet, with the drops they count for.
        var found: [(key: [UInt8], owners: [Int])] = []
        do throws(RedisError) {
            repeat {
                var commands = found.map { RedisCommand("UNLINK", $0.key) }
                commands.append(RedisCommand("SCAN", cursor, "MATCH", pattern, "COUNT", options.scanCount))
                let replies = try connection.pipeline(commands)
                deleted += Self.count(unlinked: replies.dropLast(), of: found, into: &counts)
                scanCalls += 1
                guard let reply = replies.last, let parts = reply.arrayValue, parts.count == 2,
                    let next = parts[0].bytesValue, let keys = parts[1].arrayValue?.compactMap(\.bytesValue)
                else {
                    throw RedisError(.unexpectedReply, "Redis at '\(connection.url)' sent a malformed SCAN reply.")
                }
                found = []
                returned += keys.count
                for key in keys {
                    let owners = matcher.matches(key)
                    if !owners.isEmpty { found.append((key, owners)) }
                }
                cursor = next
            } while cursor != Array("0".utf8)
            if !found.isEmpty {
                let replies = try connection.pipeline(found.map { RedisCommand("UNLINK", $0.key) })
                deleted += Self.count(unlinked: replies[...], of: found, into: &counts)
            }
        } catch {
            statistics.withLock { $0.keysDeleted += deleted }
            let failure = CacheStoreError("Prefix drop on \(label) failed: \(error.message)")
            return prefixes.map { _ in .failure(failure) }
        }
        statistics.withLock { figures in
            figures.passes += 1
            figures.drops += prefixes.count
            figures.scanCalls += scanCalls
            figures.keysReturned += returned
            figures.keysDeleted += deleted
        }
        return counts.map { .success($0) }
    }

    /// Adds each removed key to the counts of the drops it matched, and
    /// returns how many keys were removed. A key that another client removed
    /// first gets the reply 0 and counts for no drop.
    private static func count(
        unlinked replies: ArraySlice<RedisReply>, of keys: [(key: [UInt8], owners: [Int])], into counts: inout [Int]
    ) -> Int {
        var deleted = 0
        for (entry, reply) in zip(keys, replies) where reply.integerValue == 1 {
            deleted += 1
            for owner in entry.owners { counts[owner] += 1 }
        }
        return deleted
    }

    /// Returns the SCAN MATCH pattern of a pass. Up to the length of the
    /// shortest prefix, each position is the byte all prefixes share there,
    /// or a character class of the bytes they have there. A `*` ends it.
    ///
    /// Every key that starts with one of the prefixes matches, so the pass
    /// misses none; keys that match without starting with any prefix (the
    /// class allows mixing positions of different prefixes) are filtered out
    /// by the exact test on the client. Compared with the plain common
    /// prefix, far fewer keys come back when the prefixes differ only in a
    /// few positions, as partitions of the same functions do.
    static func matchPattern(_ prefixes: [[UInt8]]) -> [UInt8] {
        guard let shortest = prefixes.map(\.count).min() else { return [UInt8(ascii: "*")] }
        var pattern: [UInt8] = []
        pattern.reserveCapacity(shortest * 2 + 1)
        for position in 0..<shortest {
            var bytes = Set<UInt8>()
            for prefix in prefixes { bytes.insert(prefix[position]) }
            if bytes.count == 1 {
                pattern += globEscaped([prefixes[0][position]])
                continue
            }
            pattern.append(UInt8(ascii: "["))
            for byte in bytes.sorted() {
                // Inside a class Redis reads `^` first as a negation, `a-b` as a
                // range and `\\` as an escape; a backslash makes each literal.
                if byte == UInt8(ascii: "\\") || byte == UInt8(ascii: "]") || byte == UInt8(ascii: "^")
                    || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "[")
                {
                    pattern.append(UInt8(ascii: "\\"))
                }
                pattern.append(byte)
            }
            pattern.append(UInt8(ascii: "]"))
        }
        pattern.append(UInt8(ascii: "*"))
        return pattern
    }

    /// Escapes the characters Redis glob patterns treat specially: `* ? [ ] \`.
    static func globEscaped(_ text: [UInt8]) -> [UInt8] {
        var escaped: [UInt8] = []
        escaped.reserveCapacity(text.count + 4)
        for byte in text {
            if byte == UInt8(ascii: "*") || byte == UInt8(ascii: "?") || byte == UInt8(ascii: "[")
                || byte == UInt8(ascii: "]") || byte == UInt8(ascii: "\\")
            {
                escaped.append(UInt8(ascii: "\\"))
            }
            escaped.append(byte)
        }
        return escaped
    }

    private func run<T>(_ body: () throws(RedisError) -> T) throws(CacheStoreError) -> T {
        do {
            return try body()
        } catch {
            throw CacheStoreError("Cache store \(label) failed: \(error.message)")
        }
    }
}

// MARK: - Drop coordination

/// Drops waiting for a pass, and whether a pass is running.
private struct DropQueue {
    var pending: [PendingDrop] = []
    var passRunning = false
    /// Calls whose drops are in `pending`.
    var pendingCallers = 0
    /// Calls the last pass served.
    var releasedCallers = 0
    /// Calls that joined since the last pass ended.
    var returnedCallers = 0
    /// Whether the next pass's leader waits on `callerReturned` for the next call to join.
    var leaderAwaitsReturns = false
    var lastPassNanoseconds: UInt64 = 0
    /// When the last pass ended, in uptime nanoseconds.
    var releasedAt: UInt64 = 0
}

/// One caller's prefix drop; the caller sleeps on `wake` until its pass ends or it is handed the lead.
private final class PendingDrop: Sendable {
    enum Outcome: Sendable {
        case waiting
        /// Run the next pass.
        case lead
        case done(Result<Int, CacheStoreError>)

        var isLeadership: Bool {
            if case .lead = self { return true }
            return false
        }
    }

    let prefix: [UInt8]
    let wake = DispatchSemaphore(value: 0)
    let outcome = Mutex(Outcome.waiting)

    init(prefix: [UInt8]) {
        self.prefix = prefix
    }
}

/// Tests a key against many prefixes at once, in one walk down a byte trie
/// of the prefixes.
///
/// A key costs at most one step per byte of the longest prefix, with no
/// allocation and no hashing. Looking up each prefix length's slice of the
/// key in a dictionary instead hashed every byte one at a time. On a pass
/// with seven prefix lengths, that took most of the process's time.
///
/// The trie is stored in flat arrays: each node has the byte that leads to
/// it, its first child and its next sibling. Passes have few prefixes, so
/// a node's children are few and a linear search among them is enough.
private struct PrefixMatcher {
    private var bytes: [UInt8] = [0]
    private var firstChild: [Int32] = [-1]
    private var nextSibling: [Int32] = [-1]
    /// Per node, its entry in `owners` when a prefix ends there, else -1.
    private var ownerSlot: [Int32] = [-1]
    /// The indexes of the drops that asked for each prefix.
    private var owners: [[Int]] = []

    init(_ prefixes: [[UInt8]]) {
        for (index, prefix) in prefixes.enumerated() {
            var node: Int32 = 0
            for byte in prefix {
                node = child(of: node, byte: byte) ?? addChild(to: node, byte: byte)
            }
            if ownerSlot[Int(node)] < 0 {
                ownerSlot[Int(node)] = Int32(owners.count)
                owners.append([])
            }
            owners[Int(ownerSlot[Int(node)])].append(index)
        }
    }

    private func child(of node: Int32, byte: UInt8) -> Int32? {
        var candidate = firstChild[Int(node)]
        while candidate >= 0 {
            if bytes[Int(candidate)] == byte { return candidate }
            candidate = nextSibling[Int(candidate)]
        }
        return nil
    }

    private mutating func addChild(to node: Int32, byte: UInt8) -> Int32 {
        let added = Int32(bytes.count)
        bytes.append(byte)
        firstChild.append(-1)
        ownerSlot.append(-1)
        nextSibling.append(firstChild[Int(node)])
        firstChild[Int(node)] = added
        return added
    }

    /// Returns the indexes of the drops whose prefix starts `key`.
    func matches(_ key: [UInt8]) -> [Int] {
        var found: [Int] = []
        var node: Int32 = 0
        var position = 0
        while true {
            let slot = ownerSlot[Int(node)]
            if slot >= 0 { found += owners[Int(slot)] }
            guard position < key.count, let next = child(of: node, byte: key[position]) else { break }
            node = next
            position += 1
        }
        return found
    }
}
