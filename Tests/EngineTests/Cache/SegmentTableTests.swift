import Testing

@testable import Engine

/// Checks of the trie's child table, which keeps a single child without a
/// slot array and moves it into one on the second insert.
@Suite struct SegmentTableTests {
    final class Leaf {
        let name: String
        init(_ name: String) { self.name = name }
    }

    /// Finds `segment` with the given hash.
    static func find(_ table: SegmentTable<Leaf>, _ segment: String, hash: UInt64) -> Leaf? {
        var text = segment
        return text.withUTF8 { table.find($0, hash: hash) }
    }

    static func insert(_ table: inout SegmentTable<Leaf>, _ segment: String, hash: UInt64) -> Leaf {
        let leaf = Leaf(segment)
        var text = segment
        text.withUTF8 { table.insert($0, hash: hash, node: leaf) }
        return leaf
    }

    @Test func singleChildIsFoundAndRemoved() {
        var table = SegmentTable<Leaf>()
        let only = Self.insert(&table, "page:1", hash: 9)

        #expect(table.count == 1)
        #expect(Self.find(table, "page:1", hash: 9) === only)
        #expect(Self.find(table, "page:2", hash: 9) == nil)
        #expect(Self.find(table, "page:1", hash: 8) == nil)
        #expect(table.entries.map(\.segment) == ["page:1"])

        table.remove(Leaf("other"), hash: 9)
        #expect(table.count == 1)
        table.remove(only, hash: 9)
        #expect(table.isEmpty)
        #expect(Self.find(table, "page:1", hash: 9) == nil)
        #expect(table.entries.isEmpty)
    }

    @Test func secondChildKeepsTheFirst() {
        var table = SegmentTable<Leaf>()
        let first = Self.insert(&table, "a", hash: 5)
        let second = Self.insert(&table, "b", hash: 5)

        #expect(table.count == 2)
        #expect(Self.find(table, "a", hash: 5) === first)
        #expect(Self.find(table, "b", hash: 5) === second)

        table.remove(first, hash: 5)
        #expect(Self.find(table, "a", hash: 5) == nil)
        #expect(Self.find(table, "b", hash: 5) === second)
        table.remove(second, hash: 5)
        #expect(table.isEmpty)
        let again = Self.insert(&table, "a", hash: 5)
        #expect(Self.find(table, "a", hash: 5) === again)
    }

    /// Random inserts and removals with few distinct hashes (so many
    /// collide), checked against a dictionary after every step.
    @Test(arguments: [UInt64(1), 2, 3, 4])
    func agreesWithADictionary(seed: UInt64) {
        var generator = SeededGenerator(seed: seed)
        var table = SegmentTable<Leaf>()
        var model: [String: Leaf] = [:]
        let segments = (0..<12).map { "s\($0)" }
        func hash(_ segment: String) -> UInt64 { UInt64(segment.utf8.count + Int(segment.utf8.last!) % 3) }

        for step in 0..<800 {
            let segment = segments.randomElement(using: &generator)!
            if let leaf = model[segment], Bool.random(using: &generator) {
                table.remove(leaf, hash: hash(segment))
                model[segment] = nil
            } else if model[segment] == nil {
                model[segment] = Self.insert(&table, segment, hash: hash(segment))
            }
            #expect(table.count == model.count, "count at step \(step)")
            for candidate in segments {
                #expect(Self.find(table, candidate, hash: hash(candidate)) === model[candidate], "\(candidate) at step \(step)")
            }
            #expect(Set(table.entries.map(\.segment)) == Set(model.keys), "entries at step \(step)")
        }
    }
}
