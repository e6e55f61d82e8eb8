import Engine
import Foundation
import Testing
import TestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// Checks the interop harness configuration against the engine and against the
/// keys restflow itself writes: `Tests/Interop/dispatchtop-config.json` must
/// load, and ``CacheKeyLayout`` must reproduce every Redis key that the
/// project's cached functions store through django-redis.
@Suite(.serialized)
struct InteropKeyLayoutTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().path
    static let configPath = root + "/Tests/Interop/dispatchtop-config.json"

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

    /// Builds the Python environment, starts a private redis-server, runs
    /// `fill_cache.py` against it and returns the script's entries.
    static func fillCacheThroughRestflow() throws -> [JSONValue] {
        let environment = try ProcessRunner.run(["/bin/bash", root + "/scripts/python-env"], timeout: 600)
        try #require(environment.status == 0, "scripts/python-env failed:\n\(environment.stdout)\(environment.stderr)")

        let folder = try TemporaryDirectory(prefix: "interop-keys")
        defer { folder.remove() }
        let redis = try LoopbackRedis(folder: folder.path)
        defer { redis.stop() }

        var variables = ProcessInfo.processInfo.environment
        variables["INTEROP_REDIS_URL"] = "redis://127.0.0.1:\(redis.port)/0"
        variables["INTEROP_DB_PATH"] = folder.file("interop.sqlite3")
        let fill = try ProcessRunner.run(
            [root + "/.venv/bin/python", root + "/Tests/Interop/scripts/fill_cache.py"], environment: variables,
            timeout: 120)
        try #require(fill.status == 0, "fill_cache.py failed:\n\(fill.stderr)")
        let output = try JSONParser.parse(fill.stdout)
        return try #require(output["entries"]?.arrayValue)
    }
}

/// A redis-server on a free 127.0.0.1 port, run in the foreground so that its
/// pid is the one this test started and stops.
private struct LoopbackRedis {
    let port: Int
    let pid: pid_t

    init(folder: String) throws {
        port = try freeLoopbackPort()
        let started = try ProcessRunner.start(
            [
                "redis-server", "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                "--dir", folder,
            ], outputDirectory: folder)
        pid = started.pid
        let port = port
        let answered = waitFor(timeout: 5) {
            (try? ProcessRunner.run(["redis-cli", "-p", String(port), "PING"], timeout: 2))?.stdout
                .trimmingCharacters(in: .whitespacesAndNewlines) == "PONG"
        }
        if !answered {
            stop()
            throw RedisStartError(port: port)
        }
    }

    func stop() {
        kill(pid, SIGTERM)
        _ = ProcessRunner.wait(pid, timeout: 5)
    }
}

private struct RedisStartError: Error, CustomStringConvertible {
    let port: Int
    var description: String { "redis-server on 127.0.0.1:\(port) did not answer PING within 5 s." }
}
