import Engine
import Foundation
import Testing
import TestSupport

/// Checks the interop harness configuration against the engine and against the
/// keys restflow itself writes: `Tests/Interop/dispatchtop-config.json` must
/// load, and ``CacheKeyLayout`` must reproduce every Redis key that the
/// project's cached functions store through django-redis.
@Suite(.serialized)
struct InteropKeyLayoutTests {
    static let configPath = InteropHarness.configuration

    @Test func configLoadsWithRestflowIDs() throws {
        let configuration = try ConfigurationLoader.load(path: Self.configPath)
        let rules = configuration.rules.map { "\($0.restflowID) \($0.id) \($0.functionName) \($0.model)" }
        #expect(rules == [
            "1 product-detail-on-product shop.views.product_detail shop.Product",
            "2 category-listing-on-product shop.views.category_listing shop.Product",
            "3 category-listing-on-category shop.views.category_listing shop.Category",
            "4 regional-prices-on-product shop.views.regional_prices shop.Product",
            "5 supplier-feed-on-supplier shop.views.supplier_feed shop.Supplier",
        ])
        #expect(configuration.settings.cacheKeyPrefix == "interop")
        #expect(configuration.settings.raiseException)
        #expect(configuration.rules.allSatisfy { $0.dispatcher == configuration.settings.defaultDispatcher })
    }

    @Test func keyLayoutMatchesRestflowKeys() throws {
        let configuration = try ConfigurationLoader.load(path: Self.configPath)
        let functions = Dictionary(uniqueKeysWithValues: configuration.functions.map { ($0.name, $0) })
        let entries = try Self.fillCacheThroughRestflow()
        #expect(entries.count == 15)

        for entry in entries {
            let name = try #require(entry["function"]?.stringValue)
            let function = try #require(functions[name], "\(name) is not in the configuration")
            let arguments = try #require(entry["arguments"]?.objectValue)
            let key = function.key.key(function: function.name, arguments: arguments)
            #expect(key == entry["key"]?.stringValue, "restflow key of \(name) \(arguments)")
            let storageKey = DjangoCacheKey.make(prefix: "interop", version: function.key.version, key: key)
            #expect(storageKey == entry["storage_key"]?.stringValue, "Redis key of \(name) \(arguments)")
        }
    }

    @Test func partialPartitionPrefixCoversEveryRegion() throws {
        let configuration = try ConfigurationLoader.load(path: Self.configPath)
        let function = try #require(configuration.functions.first { $0.name == "shop.views.regional_prices" })
        let prefix = function.key.prefix(function: function.name, arguments: JSONObject([("category_id", .int(10))]))
        #expect(prefix == "shop.views.regional_prices::category_id:10::")
        let full = function.key.prefix(
            function: function.name, arguments: JSONObject([("category_id", .int(10)), ("region", .string("eu"))]))
        #expect(full == "shop.views.regional_prices::category_id:10::region:eu::")
        #expect(full.hasPrefix(prefix))
    }

    // MARK: - Harness

    /// Starts a private redis-server, runs `fill_cache.py` against it and
    /// returns the script's entries.
    static func fillCacheThroughRestflow() throws -> [JSONValue] {
        let site = try InteropSite(name: "keys")
        defer { site.stop() }
        let output = try site.runScript("fill_cache.py")
        return try #require(output["entries"]?.arrayValue)
    }
}
