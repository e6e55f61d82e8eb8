import Synchronization
import Testing

@testable import Engine

/// A memory store that records which calls reach it, in order.
final class RecordingCacheStore: CacheStore {
    let store = MemoryCacheStore()
    private let calls = Mutex<[String]>([])

    var label: String { "recording" }
    var entryCount: Int? { store.entryCount }
    var recorded: [String] { calls.withLock { $0 } }

    func set(_ key: String, _ value: [UInt8]) throws(CacheStoreError) {
        calls.withLock { $0.append("set \(key)") }
        try store.set(key, value)
    }

    func get(_ key: String) throws(CacheStoreError) -> [UInt8]? {
        try store.get(key)
    }

    func delete(_ key: String) throws(CacheStoreError) -> Bool {
        calls.withLock { $0.append("delete \(key)") }
        return try store.delete(key)
    }

    func deletePrefix(_ prefix: String) throws(CacheStoreError) -> Int {
        calls.withLock { $0.append("deletePrefix \(prefix)") }
        return try store.deletePrefix(prefix)
    }

    func deletePrefixes(_ prefixes: [String]) -> [Result<Int, CacheStoreError>] {
        calls.withLock { $0.append("deletePrefixes \(prefixes.joined(separator: " "))") }
        return prefixes.map { prefix in Result { () throws(CacheStoreError) -> Int in try store.deletePrefix(prefix) } }
    }
}

@Suite struct RuleRunnerTests {
    /// Three functions partitioned on `product_id`; `rewarm` adds a fourth
    /// rule that recomputes the first function's entry.
    static func document(rewarm: Bool) -> String {
        let rewarmRule = rewarm
            ? #", {"id": "warm", "model": "shop.Product", "field_mapping": {"product_id": "id"}, "rewarm": true}"# : ""
        return """
            {"settings": {"cache_key_prefix": "site"},
             "functions": [
               {"name": "f1", "key": {"partition": ["product_id"]}, "recompute": "fixed",
                "rules": [{"id": "one", "model": "shop.Product", "field_mapping": {"product_id": "id"}}\(rewarmRule)]},
               {"name": "f2", "key": {"partition": ["product_id"]},
                "rules": [{"id": "two", "model": "shop.Product", "field_mapping": {"product_id": "id"}}]},
               {"name": "f3", "key": {"partition": ["product_id"]},
                "rules": [{"id": "three", "model": "shop.Product", "field_mapping": {"product_id": "id"}}]}]}
            """
    }

    static func runner(rewarm: Bool) throws -> (RuleRunner, RecordingCacheStore) {
        let recomputers = RecomputerRegistry.builtIn
        recomputers.register("fixed", FixedRecomputer(text: "fresh"))
        let rules = try compileRules(document(rewarm: rewarm), recomputers: recomputers)
        let store = RecordingCacheStore()
        return (RuleRunner(rules: rules, cache: CacheContext(store: store, keyPrefix: "site"), logger: .disabled), store)
    }

    /// Builds a batch of the rules with these ids and restflow numbers, each with `product_id` 7.
    static func batch(_ ids: [String], numbers: [Int]) -> Batch {
        var kwargs = JSONObject()
        for id in ids { kwargs.appendUnchecked(id, .object(object(("product_id", 7)))) }
        return Batch(
            id: 1, dispatcher: "threadpool", batchKey: "threadpool", model: "shop.Product", pk: 7, signal: .postSave,
            ruleIDs: ids, restflowRuleIDs: numbers, ruleKwargs: kwargs, createdAt: 0)
    }

    @Test func consecutiveDropsGoInOneCall() throws {
        let (runner, store) = try Self.runner(rewarm: false)
        for function in ["f1", "f2", "f3"] { try store.store.set("site:1:\(function)::product_id:7::page:1", [1]) }
        try store.store.set("site:1:f1::product_id:8::page:1", [1])

        #expect(runner.run(Self.batch(["one", "two", "three"], numbers: [1, 2, 3])) == nil)

        #expect(
            store.recorded == [
                "deletePrefixes site:1:f1::product_id:7:: site:1:f2::product_id:7:: site:1:f3::product_id:7::"
            ])
        #expect(store.entryCount == 1)
        #expect(try store.get("site:1:f1::product_id:8::page:1") == [1])
    }

    @Test func rewarmSendsEarlierDropsFirst() throws {
        let (runner, store) = try Self.runner(rewarm: true)
        try store.store.set("site:1:f1::product_id:7::", Array("stale".utf8))

        // Rule numbers follow registration order: one, warm, two, three.
        #expect(runner.run(Self.batch(["one", "warm", "two"], numbers: [1, 2, 3])) == nil)

        #expect(
            store.recorded == [
                "deletePrefix site:1:f1::product_id:7::", "set site:1:f1::product_id:7::",
                "deletePrefix site:1:f2::product_id:7::",
            ])
        #expect(try store.get("site:1:f1::product_id:7::") == Array("fresh".utf8))
    }

    @Test func ruleIsFoundByIDWhenItsNumberDisagrees() throws {
        let (runner, store) = try Self.runner(rewarm: false)
        try store.store.set("site:1:f3::product_id:7::page:1", [1])

        // Number 1 belongs to rule "one"; the id decides.
        #expect(runner.run(Self.batch(["three"], numbers: [1])) == nil)

        #expect(store.recorded == ["deletePrefix site:1:f3::product_id:7::"])
        #expect(store.entryCount == 0)
    }

    /// A one-rule batch drops the prefix that `storagePrefix` builds, for
    /// partition values that take the prefix built on the stack (integers,
    /// strings not ending in ':') and for those that do not.
    @Test(arguments: [
        JSONValue.int(7), .int(-42), .int(Int64.min), .int(0), .string("blue"), .string("é ü"),
        .string("ends:"), .string(""), .double(1.5), .bool(true), .null,
    ])
    func soloDropMatchesTheStoragePrefix(value: JSONValue) throws {
        let (runner, store) = try Self.runner(rewarm: false)
        let arguments = object(("product_id", value))
        var kwargs = JSONObject()
        kwargs.appendUnchecked("two", .object(arguments))
        let batch = Batch(
            id: 1, dispatcher: "inline", batchKey: "inline", model: "shop.Product", pk: 7, signal: .postSave,
            ruleIDs: ["two"], restflowRuleIDs: [2], ruleKwargs: kwargs, createdAt: 0)
        let function = try #require(runner.rules.compiledRule(id: "two")).function
        let expected = runner.cache.storagePrefix(of: function, arguments: arguments)

        #expect(runner.run(batch) == nil)

        #expect(store.recorded == ["deletePrefix \(expected)"])
    }

    @Test func missingRuleFailsWithoutStoppingTheOthers() throws {
        let (runner, store) = try Self.runner(rewarm: false)
        try store.store.set("site:1:f2::product_id:7::page:1", [1])

        let failure = runner.run(Self.batch(["gone", "two"], numbers: [9, 3]))

        #expect(failure?.kind == .ruleMissing)
        #expect(failure?.ruleID == "gone")
        #expect(store.entryCount == 0)
    }
}
