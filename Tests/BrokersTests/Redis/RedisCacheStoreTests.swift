import Engine
import Foundation
import Synchronization
import Testing
import TestSupport

@testable import Brokers

@Suite(.redisServer()) struct RedisCacheStoreTests {
    private func store(
        database: Int, gatherWindow: Double = 0.002, handOverWindow: Double = 0.0003, handOverShare: Double = 0.25
    ) throws -> RedisCacheStore {
        let server = try suiteServer()
        let store = RedisCacheStore(
            url: try RedisURL(parsing: server.url(database: database)),
            options: RedisCacheStore.Options(
                scanCount: 100, gatherWindow: gatherWindow, handOverWindow: handOverWindow, handOverShare: handOverShare))
        try store.connection.execute(RedisCommand("FLUSHDB"))
        return store
    }

    @Test func setGetDelete() throws {
        let cache = try store(database: 1)
        let key = DjangoCacheKey.make(prefix: "site", version: 1, key: "ns::profile::pk:1")
        try cache.set(key, [0, 0xFF, 0x0A])
        #expect(key == "site:1:ns::profile::pk:1")
        #expect(try cache.get(key) == [0, 0xFF, 0x0A])
        #expect(try cache.delete(key))
        #expect(try !cache.delete(key))
        #expect(try cache.get(key) == nil)
    }

    @Test func dropDeletesExactlyThePrefix() throws {
        let cache = try store(database: 2)
        let keys = [
            "site:1:ns::profile::team:7::pk:1", "site:1:ns::profile::team:7::pk:2", "site:1:ns::profile::team:70::pk:3",
            "site:1:ns::profile::team:8::pk:4", "site:2:ns::profile::team:7::pk:5", "other:1:ns::profile::team:7::pk:6",
        ]
        for key in keys { try cache.set(key, [1]) }

        let removed = try cache.deletePrefix("site:1:ns::profile::team:7::")

        #expect(removed == 2)
        for key in keys {
            let shouldRemain = !key.hasPrefix("site:1:ns::profile::team:7::")
            #expect(try (cache.get(key) != nil) == shouldRemain, "\(key)")
        }
        #expect(cache.entryCount == 4)
    }

    @Test func dropSpanningManyScanCallsRemovesEveryKey() throws {
        // Each SCAN call's UNLINKs ride with the next call, and the last
        // call's go out on their own; every call here finds keys to remove.
        let cache = try store(database: 10)
        var writes: [RedisCommand] = []
        for entry in 0..<1000 { writes.append(RedisCommand("SET", "site:1:fn::pk:\(entry)", "v")) }
        for entry in 0..<30 { writes.append(RedisCommand("SET", "site:1:other::pk:\(entry)", "v")) }
        try cache.connection.perform([RedisWrite(writes, atomic: false)])

        #expect(try cache.deletePrefix("site:1:fn::") == 1000)

        let figures = cache.dropStatistics
        #expect(figures.scanCalls >= 5, "\(figures.scanCalls) SCAN calls with COUNT 100")
        #expect(figures.keysDeleted == 1000)
        #expect(cache.entryCount == 30)
        #expect(try cache.deletePrefix("site:1:fn::") == 0)
    }

    @Test func dropEscapesGlobCharacters() throws {
        let cache = try store(database: 3)
        let keys = ["p:1:f::q:[a]*?\\::x", "p:1:f::q:a::x", "p:1:f::q:[a]*?\\::y", "p:1:f::q:b::x"]
        for key in keys { try cache.set(key, [1]) }
        #expect(try cache.deletePrefix("p:1:f::q:[a]*?\\::") == 2)
        #expect(try cache.get("p:1:f::q:a::x") != nil)
        #expect(try cache.get("p:1:f::q:b::x") != nil)
        #expect(try cache.get("p:1:f::q:[a]*?\\::x") == nil)
    }

    @Test func concurrentDropsShareScanPasses() throws {
        let cache = try store(database: 4, gatherWindow: 0.05)
        var writes: [RedisCommand] = []
        for rule in 0..<16 {
            for entry in 0..<50 { writes.append(RedisCommand("SET", "site:1:fn\(rule)::pk:\(entry)", "v")) }
        }
        for entry in 0..<200 { writes.append(RedisCommand("SET", "site:1:keep::pk:\(entry)", "v")) }
        try cache.connection.perform([RedisWrite(writes, atomic: false)])

        let counts = Counts()
        runOnThreads(16) { rule in
            let removed = (try? cache.deletePrefix("site:1:fn\(rule)::")) ?? -1
            counts.record(rule, removed)
        }

        #expect(counts.all == [Int](repeating: 50, count: 16))
        let figures = cache.dropStatistics
        #expect(figures.drops == 16)
        #expect(figures.keysDeleted == 800)
        #expect(figures.passes < 16, "16 drops used \(figures.passes) passes")
        #expect(cache.entryCount == 200)
    }

    @Test func passWaitsForTheCallersTheLastPassReleased() throws {
        // Four callers drop thirty prefixes each, one after another. When a
        // pass ends, the next one waits for the callers it released, so from
        // the second pass on each pass serves all four: 31 passes, or one or two more when a thread starts late. Starting
        // each pass as soon as one caller is back leaves the others for the
        // pass after, which took 34 to 42 passes here. The window is long so
        // that a slow machine does not change the count. The wait ends as
        // soon as the callers are back, and only the last pass waits it out.
        let cache = try store(database: 11, gatherWindow: 0, handOverWindow: 0.2, handOverShare: 1000)
        var writes: [RedisCommand] = []
        for caller in 0..<4 {
            for drop in 0..<30 { writes.append(RedisCommand("SET", "site:1:fn\(caller)::pk:\(drop)::x", "v")) }
        }
        // Other keys make each pass long (50 SCAN calls) next to the time a
        // released caller takes to come back.
        for entry in 0..<5000 { writes.append(RedisCommand("SET", "site:1:keep::pk:\(entry)", "v")) }
        try cache.connection.perform([RedisWrite(writes, atomic: false)])

        let counts = Counts()
        runOnThreads(4) { caller in
            var removed = 0
            for drop in 0..<30 { removed += (try? cache.deletePrefix("site:1:fn\(caller)::pk:\(drop)::")) ?? -100 }
            counts.record(caller, removed)
        }

        #expect(counts.all == [30, 30, 30, 30])
        let figures = cache.dropStatistics
        #expect(figures.drops == 120)
        #expect(figures.passes <= 33, "120 drops from 4 callers used \(figures.passes) passes")
        #expect(cache.entryCount == 5000)
    }

    @Test func overlappingPrefixesBothCount() throws {
        let cache = try store(database: 5, gatherWindow: 0.05)
        for key in ["s:1:f::a:1", "s:1:f::a:2", "s:1:f::b:1"] { try cache.set(key, [1]) }
        let counts = Counts()
        runOnThreads(2) { index in
            let prefix = index == 0 ? "s:1:f::" : "s:1:f::a:"
            counts.record(index, (try? cache.deletePrefix(prefix)) ?? -1)
        }
        #expect(counts.all == [3, 2])
        #expect(cache.entryCount == 0)
    }

    @Test func bulkDropCountsEachPrefixInOnePass() throws {
        let cache = try store(database: 6)
        let keys = ["s:1:f::a:1", "s:1:f::a:2", "s:1:f::b:1", "s:1:g::a:1", "s:1:h::a:1"]
        for key in keys { try cache.set(key, [1]) }

        let results = cache.deletePrefixes(["s:1:f::a:", "s:1:g::", "s:1:x::"])

        #expect(results.map { try? $0.get() } == [2, 1, 0])
        #expect(cache.dropStatistics.passes == 1)
        #expect(cache.dropStatistics.drops == 3)
        #expect(try cache.get("s:1:f::b:1") != nil)
        #expect(try cache.get("s:1:h::a:1") != nil)
        #expect(cache.entryCount == 2)
    }

    @Test func bulkDropsFromThreadsShareAPass() throws {
        let cache = try store(database: 7, gatherWindow: 0.05)
        var writes: [RedisCommand] = []
        for batch in 0..<8 {
            for rule in 0..<4 {
                for entry in 0..<5 { writes.append(RedisCommand("SET", "site:1:fn\(rule)::pk:\(batch)::e\(entry)", "v")) }
            }
        }
        try cache.connection.perform([RedisWrite(writes, atomic: false)])

        let counts = Counts()
        runOnThreads(8) { batch in
            let prefixes = (0..<4).map { "site:1:fn\($0)::pk:\(batch)::" }
            let removed = cache.deletePrefixes(prefixes).map { (try? $0.get()) ?? -1 }
            counts.record(batch, removed == [5, 5, 5, 5] ? 20 : -1)
        }

        #expect(counts.all == [Int](repeating: 20, count: 8))
        let figures = cache.dropStatistics
        #expect(figures.drops == 32)
        #expect(figures.keysDeleted == 160)
        #expect(figures.passes < 8, "8 bulk drops used \(figures.passes) passes")
        #expect(cache.entryCount == 0)
    }

    @Test func bulkDropOfRepeatedAndNestedPrefixesCountsEach() throws {
        // The same prefix twice, a prefix of another, a whole key as a
        // prefix, and prefixes that part at their first byte.
        let cache = try store(database: 13)
        let keys = ["s:1:f::a:1", "s:1:f::a:12", "s:1:f::b:1", "t:1:f::a:1", "s:1:g::a:1"]
        for key in keys { try cache.set(key, [1]) }

        let results = cache.deletePrefixes(["s:1:f::a:1", "s:1:f::", "s:1:f::a:1", "t:1:f::a:1", "u:", "s:1:f::a:12"])

        #expect(results.map { try? $0.get() } == [2, 3, 2, 1, 0, 1])
        #expect(cache.dropStatistics.passes == 1)
        #expect(cache.dropStatistics.keysDeleted == 4)
        #expect(try cache.get("s:1:g::a:1") != nil)
        #expect(cache.entryCount == 1)
    }

    @Test func bulkDropMatchesGlobCharactersInDifferingPositions() throws {
        let cache = try store(database: 8)
        let keys = ["p::^a::1", "p::-a::1", "p::]a::1", "p::\\a::1", "p::[a::1", "p::ba::1", "p::^b::1"]
        for key in keys { try cache.set(key, [1]) }

        let results = cache.deletePrefixes(["p::^a::", "p::-a::", "p::]a::", "p::\\a::", "p::[a::"])

        #expect(results.map { try? $0.get() } == [1, 1, 1, 1, 1])
        #expect(try cache.get("p::ba::1") != nil)
        #expect(try cache.get("p::^b::1") != nil)
        #expect(cache.entryCount == 2)
    }

    @Test func matchPatternUsesClassesWhereThePrefixesDiffer() {
        let pattern = RedisCacheStore.matchPattern([Array("s:1:f::a:12".utf8), Array("s:1:f::b:7".utf8)])
        #expect(String(decoding: pattern, as: UTF8.self) == "s:1:f::[ab]:[17]*")
        let single = RedisCacheStore.matchPattern([Array("s:1:*?::".utf8)])
        #expect(String(decoding: single, as: UTF8.self) == "s:1:\\*\\?::*")
    }

    @Test func bulkDropOnUnreachableServerFailsEachPrefix() throws {
        let port = try freeLoopbackPort()
        let cache = RedisCacheStore(url: try RedisURL(parsing: "redis://127.0.0.1:\(port)/0"))
        let results = cache.deletePrefixes(["site:1:a::", "site:1:b::"])
        #expect(results.count == 2)
        for result in results {
            #expect(throws: CacheStoreError.self) { try result.get() }
        }
    }

    @Test func dropOnUnreachableServerThrows() throws {
        let port = try freeLoopbackPort()
        let cache = RedisCacheStore(url: try RedisURL(parsing: "redis://127.0.0.1:\(port)/0"))
        #expect {
            try cache.deletePrefix("site:1:")
        } throws: { error in
            (error as? CacheStoreError)?.message.contains("Cannot connect to Redis") == true
        }
        #expect(cache.entryCount == nil)
    }

    @Test func statusFollowsTheServer() throws {
        let live = try store(database: 12)
        #expect(live.status == CacheStatus(label: live.label, isUp: true))

        let port = try freeLoopbackPort()
        let unreachable = RedisCacheStore(url: try RedisURL(parsing: "redis://127.0.0.1:\(port)/0"))
        let status = try #require(unreachable.status)
        #expect(!status.isUp)
        #expect(status.detail?.contains("Cannot connect to Redis at 'redis://127.0.0.1:\(port)/0'") == true, "\(status)")
    }
}

/// Runs `body` on `count` threads at once, as a thread-pool dispatcher
/// would (concurrentPerform runs only as many at once as there are cores),
/// and waits for all of them.
private func runOnThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
    let group = DispatchGroup()
    for index in 0..<count {
        group.enter()
        Thread {
            body(index)
            group.leave()
        }.start()
    }
    group.wait()
}

/// Results recorded from concurrent threads, by index.
private final class Counts: Sendable {
    private let values = Mutex<[Int: Int]>([:])

    func record(_ index: Int, _ value: Int) {
        values.withLock { $0[index] = value }
    }

    var all: [Int] {
        values.withLock { values in values.keys.sorted().map { values[$0]! } }
    }
}
