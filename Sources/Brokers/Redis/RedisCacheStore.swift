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
/// - A drop that finds no pass running starts one at once (after
///   ``Options/gatherWindow``, zero by default) for all drops waiting at
///   that moment. Drops that arrive during a pass wait for the next one,
///   which one of them runs. Under concurrent load passes fill up by
///   themselves, and with a zero window a lone caller does not wait.
/// - A pass sends `SCAN cursor MATCH <pattern> COUNT <scanCount>` until the
///   cursor returns to 0. The pattern matches every key under any of the
///   pass's prefixes (see ``matchPattern(_:)``). Every key it returns is
///   tested against all of them at once (one set lookup per distinct
///   prefix length). Matching keys are removed with one UNLINK per key,
///   pipelined, so each drop's count is exact.
///
/// Cost per pass: about `keyspace / scanCount` SCAN round trips, each
/// walking about `scanCount` keys on the server, plus one pipelined UNLINK
/// per deleted key. The cost grows with the keyspace per pass, not per
/// rule: k drops gathered into one pass cost one walk, not k.
///
/// - Important: a drop that arrives while a pass runs waits for that pass
///   and its own, so its latency is at most about two passes. Keys written
///   under a prefix while its pass runs may survive it, as with any
///   SCAN-based deletion.
public final class RedisCacheStore: CacheStore {
    public struct Options: Sendable {
        /// The COUNT hint of each SCAN call.
        public var scanCount: Int
        /// Seconds the first drop of a pass waits for others to join it.
        public var gatherWindow: Double

        public init(scanCount: Int = 1000, gatherWindow: Double = 0) {
            self.scanCount = scanCount
            self.gatherWindow = gatherWindow
        }
    }

    /// Figures about the prefix-drop passes run so far.
    public struct DropStatistics: Sendable, Equatable {
        public var passes = 0
        public var drops = 0
        public var scanCalls = 0
        public var keysDeleted = 0
    }

    public let connection: RedisConnection
    public let options: Options
    private let drops = Mutex(DropQueue())
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
        let drop = PendingDrop(prefix: Array(prefix.utf8))
        let leads = drops.withLock { queue -> Bool in
            queue.pending.append(drop)
            guard !queue.passRunning else { return false }
            queue.passRunning = true
            return true
        }
        if leads {
            if options.gatherWindow > 0 { Thread.sleep(forTimeInterval: options.gatherWindow) }
            runPass()
        } else {
            drop.wake.wait()
            if drop.outcome.withLock({ $0.isLeadership }) { runPass() }
        }
        guard case .done(let result) = drop.outcome.withLock({ $0 }) else {
            preconditionFailure("a prefix drop returned before its pass finished")
        }
        return try result.get()
    }

    /// Drops several prefixes as one request: they join the pending pass
    /// together (all in the same pass), and each gets its own exact count.
    /// The rule runner sends a batch's drops this way, so a batch of seven
    /// rules costs one share of one pass rather than seven.
    public func deletePrefixes(_ prefixes: [String]) -> [Result<Int, CacheStoreError>] {
        guard !prefixes.isEmpty else { return [] }
        let batch = prefixes.map { PendingDrop(prefix: Array($0.utf8)) }
        let leads = drops.withLock { queue -> Bool in
            queue.pending.append(contentsOf: batch)
            guard !queue.passRunning else { return false }
            queue.passRunning = true
            return true
        }
        if leads {
            if options.gatherWindow > 0 { Thread.sleep(forTimeInterval: options.gatherWindow) }
            runPass()
        } else {
            // Drops are appended and taken from the queue together, so the
            // first one is the only one that can be handed the lead, and the
            // pass that serves it serves the others. Each of them is woken
            // once, when its result is set.
            batch[0].wake.wait()
            if batch[0].outcome.withLock({ $0.isLeadership }) { runPass() }
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
        let batch = drops.withLock { queue -> [PendingDrop] in
            defer { queue.pending.removeAll() }
            return queue.pending
        }
        let results = scanAndUnlink(batch.map(\.prefix))
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

    /// One SCAN pass for several prefixes; returns each prefix's deleted count.
    private func scanAndUnlink(_ prefixes: [[UInt8]]) -> [Result<Int, CacheStoreError>] {
        let matcher = PrefixMatcher(prefixes)
        let pattern = Self.matchPattern(prefixes)
        var counts = [Int](repeating: 0, count: prefixes.count)
        var cursor: [UInt8] = Array("0".utf8)
        var scanCalls = 0
        do throws(RedisError) {
            repeat {
                let reply = try connection.execute(RedisCommand("SCAN", cursor, "MATCH", pattern, "COUNT", options.scanCount))
                scanCalls += 1
                guard let parts = reply.arrayValue, parts.count == 2, let next = parts[0].bytesValue,
                    let keys = parts[1].arrayValue?.compactMap(\.bytesValue)
                else {
                    throw RedisError(.unexpectedReply, "Redis at '\(connection.url)' sent a malformed SCAN reply.")
                }
                try unlink(keys, matcher: matcher, counts: &counts)
                cursor = next
            } while cursor != Array("0".utf8)
        } catch {
            let failure = CacheStoreError("Prefix drop on \(label) failed: \(error.message)")
            return prefixes.map { _ in .failure(failure) }
        }
        statistics.withLock { figures in
            figures.passes += 1
            figures.drops += prefixes.count
            figures.scanCalls += scanCalls
        }
        return counts.map { .success($0) }
    }

    private func unlink(_ keys: [[UInt8]], matcher: PrefixMatcher, counts: inout [Int]) throws(RedisError) {
        var matched: [(key: [UInt8], owners: [Int])] = []
        for key in keys {
            let owners = matcher.matches(key)
            if !owners.isEmpty { matched.append((key, owners)) }
        }
        guard !matched.isEmpty else { return }
        let replies = try connection.pipeline(matched.map { RedisCommand("UNLINK", $0.key) })
        var deleted = 0
        for (entry, reply) in zip(matched, replies) where reply.integerValue == 1 {
            deleted += 1
            for owner in entry.owners { counts[owner] += 1 }
        }
        statistics.withLock { $0.keysDeleted += deleted }
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

/// Tests a key against many prefixes at once: one set lookup per distinct prefix length.
private struct PrefixMatcher {
    /// Prefix bytes to the indexes of the drops that asked for them.
    private var owners: [[UInt8]: [Int]] = [:]
    private let lengths: [Int]

    init(_ prefixes: [[UInt8]]) {
        for (index, prefix) in prefixes.enumerated() {
            owners[prefix, default: []].append(index)
        }
        lengths = Set(prefixes.map(\.count)).sorted()
    }

    /// Returns the indexes of the drops whose prefix starts `key`.
    func matches(_ key: [UInt8]) -> [Int] {
        var found: [Int] = []
        for length in lengths {
            guard length <= key.count else { break }
            if let indexes = owners[Array(key[0..<length])] { found += indexes }
        }
        return found
    }
}
