import Testing

@testable import Engine

@Suite struct MemoryCacheStoreTests {
    static func store(_ keys: [String]) throws -> MemoryCacheStore {
        let store = MemoryCacheStore()
        for key in keys {
            try store.set(key, Array(key.utf8))
        }
        return store
    }

    static func present(_ store: MemoryCacheStore, _ keys: [String]) throws -> [String] {
        try keys.filter { try store.get($0) != nil }
    }

    // MARK: - Single keys

    @Test func setThenGetReturnsTheValue() throws {
        let store = MemoryCacheStore()
        try store.set("site:1:f::id:1", [1, 2, 3])
        #expect(try store.get("site:1:f::id:1") == [1, 2, 3])
        #expect(store.entryCount == 1)
    }

    @Test func setAgainReplacesWithoutCountingTwice() throws {
        let store = MemoryCacheStore()
        try store.set("k", [1])
        try store.set("k", [2])
        #expect(try store.get("k") == [2])
        #expect(store.entryCount == 1)
    }

    @Test func missingKeyReturnsNil() throws {
        let store = try Self.store(["f::a"])
        #expect(try store.get("f::b") == nil)
        #expect(try store.get("f") == nil)
        #expect(try store.get("f::") == nil)
    }

    @Test func emptyValueIsStillAnEntry() throws {
        let store = MemoryCacheStore()
        try store.set("k", [])
        #expect(try store.get("k") == [])
        #expect(store.entryCount == 1)
    }

    @Test func deleteRemovesOnlyThatKey() throws {
        let store = try Self.store(["f", "f::a", "f::a::b"])
        #expect(try store.delete("f::a"))
        #expect(try Self.present(store, ["f", "f::a", "f::a::b"]) == ["f", "f::a::b"])
        #expect(store.entryCount == 2)
    }

    @Test func deleteOfAMissingKeyReturnsFalse() throws {
        let store = try Self.store(["f::a::b"])
        #expect(try !store.delete("f::a"))
        #expect(try !store.delete("g"))
        #expect(store.entryCount == 1)
    }

    @Test func labelIsMemory() {
        #expect(MemoryCacheStore().label == "memory")
    }

    // MARK: - Prefixes

    static let keys = [
        "site:1:f::id:1", "site:1:f::id:1::lang:en", "site:1:f::id:10::lang:en", "site:1:f::id:2",
        "site:1:g::id:1", "site:1:f", "site:1:fx::id:1",
    ]

    /// Each row: a prefix and the keys of ``keys`` it must delete.
    @Test(arguments: [
        ("site:1:f::id:1::", ["site:1:f::id:1::lang:en"]),
        ("site:1:f::id:1", ["site:1:f::id:1", "site:1:f::id:1::lang:en", "site:1:f::id:10::lang:en"]),
        ("site:1:f::", ["site:1:f::id:1", "site:1:f::id:1::lang:en", "site:1:f::id:10::lang:en", "site:1:f::id:2"]),
        ("site:1:f", [
            "site:1:f::id:1", "site:1:f::id:1::lang:en", "site:1:f::id:10::lang:en", "site:1:f::id:2", "site:1:f",
            "site:1:fx::id:1",
        ]),
        ("site:1:f::id:", ["site:1:f::id:1", "site:1:f::id:1::lang:en", "site:1:f::id:10::lang:en", "site:1:f::id:2"]),
        ("site:1:f::id:1:", ["site:1:f::id:1::lang:en"]),
        ("site:1:", keys),
        ("site:1:h::", []),
        ("zzz", []),
    ])
    func deletePrefixRemovesExactlyTheMatchingKeys(prefix: String, expected: [String]) throws {
        let store = try Self.store(Self.keys)
        let removed = try store.deletePrefix(prefix)
        let remaining = Self.keys.filter { !expected.contains($0) }
        #expect(removed == expected.count)
        #expect(try Self.present(store, Self.keys) == remaining)
        #expect(store.entryCount == remaining.count)
    }

    /// The byte form of `deletePrefix` removes what the `String` form does,
    /// including prefixes that end in ':' (deleted by a scan) and non-ASCII ones.
    @Test(arguments: [
        "site:1:f::id:1::", "site:1:f::id:1", "site:1:f::", "site:1:f", "site:1:f::id:1:", "site:1:", "", "zzz",
        "site:1:f::id:é",
    ])
    func byteDeletePrefixMatchesTheStringForm(prefix: String) throws {
        let keys = Self.keys + ["site:1:f::id:é::lang:en", "site:1:f::id:e\u{301}x"]
        let byString = try Self.store(keys)
        let byBytes = try Self.store(keys)
        var text = prefix

        let removed = try text.withUTF8 { bytes throws(CacheStoreError) in try byBytes.deletePrefix(utf8: bytes) }

        #expect(removed == (try byString.deletePrefix(prefix)))
        #expect(try Self.present(byBytes, keys) == (try Self.present(byString, keys)))
        #expect(byBytes.entryCount == byString.entryCount)
    }

    @Test func prefixEndingBetweenTwoColonsMatchesTheSeparator() throws {
        let keys = ["a::b", "a:::b", "a::::b", "a:b", "a"]
        let store = try Self.store(keys)
        let removed = try store.deletePrefix("a:")
        #expect(removed == 4)
        #expect(try Self.present(store, keys) == ["a"])
    }

    @Test func prefixEndingInThreeColonsMatchesAnEmptySegment() throws {
        let keys = ["a::::b", "a:::b", "a::b", "a::"]
        let store = try Self.store(keys)
        let removed = try store.deletePrefix("a:::")
        #expect(removed == 2)
        #expect(try Self.present(store, keys) == ["a::b", "a::"])
        #expect(store.entryCount == 2)
    }

    @Test func emptyPrefixDeletesEverything() throws {
        let keys = ["", "a", "a::b", "::"]
        let store = try Self.store(keys)
        let removed = try store.deletePrefix("")
        #expect(removed == 4)
        #expect(try Self.present(store, keys) == [])
        #expect(store.entryCount == 0)
    }

    @Test func storeIsUsableAfterDeletingASubtree() throws {
        let store = try Self.store(["f::a::1", "f::a::2"])
        try store.deletePrefix("f::a::")
        try store.set("f::a::3", [3])
        #expect(try store.get("f::a::3") == [3])
        #expect(try store.get("f::a::1") == nil)
        #expect(store.entryCount == 1)
    }

    // MARK: - Unicode and bulk drops

    @Test func canonicallyEqualSegmentsAreOneKey() throws {
        let store = MemoryCacheStore()
        try store.set("ns::caf\u{E9}::\u{212A}", [1])
        // "e" + U+0301 equals U+00E9, and "K" equals the Kelvin sign, as String compares them.
        #expect(try store.get("ns::cafe\u{301}::K") == [1])
        #expect(try store.deletePrefix("ns::cafe\u{301}::") == 1)
        #expect(store.entryCount == 0)
    }

    @Test func bulkDropReturnsOneCountPerPrefix() throws {
        let keys = ["f::a::1", "f::a::2", "f::b::1", "g::a::1"]
        let store = try Self.store(keys)
        let results = store.deletePrefixes(["f::a::", "f::", "h::"])
        #expect(results.map { try? $0.get() } == [2, 1, 0])
        #expect(try Self.present(store, keys) == ["g::a::1"])
    }

    // MARK: - Remembered heads

    static func drop(_ store: MemoryCacheStore, _ prefix: String, hint: Int) throws -> Int {
        var bytes = prefix
        return try bytes.withUTF8 { utf8 throws(CacheStoreError) in try store.deletePrefix(utf8: utf8, hint: hint) }
    }

    @Test func hintedDropsRememberTheHead() throws {
        let store = MemoryCacheStore()
        for key in ["f::g::1::x", "f::g::2::x", "f::g::2::y", "f::h::3::x"] { try store.set(key, [1]) }
        #expect(try Self.drop(store, "f::g::1::", hint: 4) == 1)
        #expect(store.heads.isRemembering)
        // The next drop under the hint starts below "f::g::".
        #expect(try Self.drop(store, "f::g::2::", hint: 4) == 2)
        // A prefix with another head under the same hint walks from the root.
        #expect(try Self.drop(store, "f::h::3::", hint: 4) == 1)
        #expect(store.entryCount == 0)
    }

    @Test func removingARememberedNodeForgetsEveryHead() throws {
        let store = MemoryCacheStore()
        for key in ["f::g::1::x", "f::g::2::x", "k::m::1::x"] { try store.set(key, [1]) }
        #expect(try Self.drop(store, "f::g::1::", hint: 0) == 1)
        #expect(try Self.drop(store, "k::m::9::", hint: 1) == 0)
        #expect(store.heads.isRemembering)
        // Cutting below "f::" removes the remembered "g" node.
        #expect(try store.deletePrefix("f::") == 1)
        #expect(!store.heads.isRemembering)
        try store.set("f::g::3::x", [2])
        #expect(try Self.drop(store, "f::g::3::", hint: 0) == 1)
        #expect(try store.get("k::m::1::x") == [1])
    }

    @Test func pruningTheLastEntryUnderAHeadForgetsIt() throws {
        let store = MemoryCacheStore()
        try store.set("f::g::1::x", [1])
        #expect(try Self.drop(store, "f::g::1::", hint: 0) == 1)
        // The drop emptied "f::g::", so those nodes left the trie.
        #expect(!store.heads.isRemembering)
        #expect(store.entryCount == 0)
        try store.set("f::g::1::x", [1])
        #expect(try Self.drop(store, "f::g::1::", hint: 0) == 1)
    }

    // MARK: - Reference model

    /// Runs random operations on the store and on a plain dictionary, with
    /// keys built from pieces that make colon runs of every length, and
    /// checks that both agree after every step.
    @Test(arguments: [UInt64(1), 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12])
    func agreesWithAReferenceModel(seed: UInt64) throws {
        var generator = SeededGenerator(seed: seed)
        let store = MemoryCacheStore()
        var model: [String: [UInt8]] = [:]
        let pieces = ["a", "b", ":", "::", "ab", ""]

        func randomKey() -> String {
            let count = Int.random(in: 0...5, using: &generator)
            return (0..<count).map { _ in pieces.randomElement(using: &generator)! }.joined()
        }

        for step in 0..<600 {
            switch Int.random(in: 0..<10, using: &generator) {
            case 0..<5:
                let key = randomKey()
                let value = [UInt8(step % 251)]
                try store.set(key, value)
                model[key] = value
            case 5..<7:
                let key = model.keys.randomElement(using: &generator) ?? randomKey()
                let existed = model.removeValue(forKey: key) != nil
                #expect(try store.delete(key) == existed, "delete '\(key)' at step \(step)")
            default:
                let prefix: String
                if Bool.random(using: &generator), let key = model.keys.randomElement(using: &generator) {
                    prefix = String(key.prefix(Int.random(in: 0...key.count, using: &generator)))
                } else {
                    prefix = randomKey()
                }
                let matching = model.keys.filter { $0.hasPrefix(prefix) }
                for key in matching { model[key] = nil }
                // Half the drops pass one of three hints, so remembered
                // heads are reused, replaced and forgotten along the way.
                let deleted: Int
                if Bool.random(using: &generator) {
                    let hint = Int.random(in: 0..<3, using: &generator)
                    var bytes = prefix
                    deleted = try bytes.withUTF8 { utf8 throws(CacheStoreError) in try store.deletePrefix(utf8: utf8, hint: hint) }
                } else {
                    deleted = try store.deletePrefix(prefix)
                }
                #expect(deleted == matching.count, "deletePrefix '\(prefix)' at step \(step)")
            }
            #expect(store.entryCount == model.count, "count at step \(step)")
        }
        for (key, value) in model {
            #expect(try store.get(key) == value, "get '\(key)'")
        }
    }
}
