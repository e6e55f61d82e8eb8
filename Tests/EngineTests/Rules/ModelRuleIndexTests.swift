import Testing

@testable import Engine

/// Checks of the per-event lookup of a model's rules.
@Suite struct ModelRuleIndexTests {
    static let labels: [String: [Int]] = [
        "shop.Product": [0, 2], "shop.Category": [1], "blog.Post": [3, 4, 5], "": [6],
        "caf\u{E9}.Menu": [7],
    ]

    @Test(arguments: ["shop.Product", "shop.Category", "blog.Post", ""])
    func findsEachASCIILabel(label: String) {
        let index = ModelRuleIndex(Self.labels)
        #expect(index.indices(for: label) == Self.labels[label])
    }

    @Test(arguments: ["shop.product", "shop.Produc", "shop.Products", "blog", "x"])
    func missesLabelsWithoutRules(label: String) {
        let index = ModelRuleIndex(Self.labels)
        #expect(index.indices(for: label) == nil)
    }

    /// A decomposed spelling equals the composed one as `String` does.
    @Test func nonASCIILabelMatchesCanonically() {
        let index = ModelRuleIndex(Self.labels)
        #expect(index.indices(for: "caf\u{E9}.Menu") == [7])
        #expect(index.indices(for: "cafe\u{301}.Menu") == [7])
        #expect(index.indices(for: "cafe.Menu") == nil)
    }

    /// Many labels fill a larger table, and every one is still found.
    @Test func findsEveryLabelOfALargeTable() {
        var labels: [String: [Int]] = [:]
        for number in 0..<500 { labels["app.Model\(number)"] = [number] }
        let index = ModelRuleIndex(labels)
        let misses = labels.filter { index.indices(for: $0.key) != $0.value }
        #expect(misses.isEmpty)
        #expect(index.indices(for: "app.Model500") == nil)
    }

    @Test func emptyIndexFindsNothing() {
        let index = ModelRuleIndex([:])
        #expect(index.indices(for: "shop.Product") == nil)
        #expect(index.indices(for: "") == nil)
    }
}
