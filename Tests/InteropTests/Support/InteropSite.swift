import Brokers
import Engine
import Foundation
import TestSupport

/// One test's copy of the Django project: a private redis-server, a
/// temporary folder with the SQLite database and logs, and the `INTEROP_*`
/// variables that point the harness scripts and workers at both.
final class InteropSite: Sendable {
    let folder: TemporaryDirectory
    let redis: RedisServer
    /// A connection for reading back what producers and workers wrote.
    let reader: RedisConnection
    let environment: [String: String]

    /// Starts the server and builds the environment.
    /// - Parameter variables: extra `INTEROP_*` settings, e.g. a queue or a serializer.
    init(name: String, variables: [String: String] = [:]) throws {
        try InteropHarness.requireTools()
        folder = try TemporaryDirectory(prefix: "interop-\(name)")
        do {
            redis = try InteropHarness.startRedis()
        } catch {
            folder.remove()
            throw error
        }
        reader = RedisConnection(url: try RedisURL(parsing: redis.url()))
        var environment = ProcessInfo.processInfo.environment
        environment["INTEROP_REDIS_URL"] = redis.url()
        environment["INTEROP_DB_PATH"] = folder.file("django.sqlite3")
        environment["PYTHONUNBUFFERED"] = "1"
        environment.merge(variables) { _, new in new }
        self.environment = environment
    }

    var redisURL: String { redis.url() }
    var databasePath: String { folder.file("django.sqlite3") }

    /// Stops the server and removes the folder.
    func stop() {
        reader.close()
        redis.stop()
        folder.remove()
    }

    // MARK: - Harness scripts

    /// Runs a harness script with the virtual environment's Python and
    /// returns its standard output parsed as one JSON document.
    /// - Throws: ``InteropSetupError`` with the script's standard error when it exits non-zero.
    @discardableResult
    func runScript(_ script: String, _ arguments: [String] = []) throws -> JSONValue {
        let result = try ProcessRunner.run(
            [InteropHarness.python, "\(InteropHarness.scripts)/\(script)"] + arguments, environment: environment,
            timeout: 120)
        guard result.status == 0 else {
            let command = ([script] + arguments).joined(separator: " ")
            throw InteropSetupError("\(command) exited \(result.status):\n\(result.stderr)")
        }
        return try JSONParser.parse(result.stdout)
    }

    /// Creates django-q2's tables in the site's SQLite database.
    func migrate() throws {
        let result = try ProcessRunner.run(
            [InteropHarness.python, "manage.py", "migrate", "--noinput"], environment: environment,
            directory: InteropHarness.project, timeout: 120)
        guard result.status == 0 else {
            throw InteropSetupError("manage.py migrate exited \(result.status):\n\(result.stderr)")
        }
    }

    /// Fills the cache through restflow's cached functions and returns the Redis keys it wrote.
    func fillCache() throws -> Set<String> {
        let output = try runScript("fill_cache.py")
        return Set(output["keys"]?.arrayValue?.compactMap(\.stringValue) ?? [])
    }

    /// Returns what `broker_state.py` reports for `system`: the library's own
    /// view of the queue, its failures and, with `messages`, each waiting message decoded.
    func brokerState(_ system: String, queue: String? = nil, messages: Bool = false) throws -> JSONValue {
        var arguments = [system]
        if let queue { arguments += ["--queue", queue] }
        if messages { arguments.append("--messages") }
        return try runScript("broker_state.py", arguments)
    }

    // MARK: - Reading Redis

    /// Returns the cache keys in Redis, read with SCAN.
    func cacheKeys() throws -> Set<String> {
        try scan("\(InteropHarness.cacheKeyPrefix):*")
    }

    /// Returns every key matching `pattern`, read with SCAN.
    func scan(_ pattern: String) throws -> Set<String> {
        var keys: Set<String> = []
        var cursor = "0"
        repeat {
            let reply = try reader.execute(RedisCommand("SCAN", cursor, "MATCH", pattern, "COUNT", 1000))
            guard let parts = reply.arrayValue, parts.count == 2, let next = parts[0].stringValue else {
                throw InteropSetupError("SCAN returned \(reply)")
            }
            keys.formUnion(parts[1].arrayValue?.compactMap(\.stringValue) ?? [])
            cursor = next
        } while cursor != "0"
        return keys
    }

    /// Returns the integer reply of one command (LLEN, ZCARD, HLEN, XLEN ...).
    func count(_ command: RedisCommand) throws -> Int {
        Int(try reader.execute(command).integerValue ?? -1)
    }

    /// Returns the elements of a list.
    func list(_ key: String) throws -> [[UInt8]] {
        try reader.execute(RedisCommand("LRANGE", key, 0, -1)).arrayValue?.compactMap(\.bytesValue) ?? []
    }

    /// Returns one field of a hash, or nil.
    func hashField(_ key: String, _ field: String) throws -> [UInt8]? {
        try reader.execute(RedisCommand("HGET", key, field)).bytesValue
    }

    /// Returns the rows of django-q2's task table as `[success, attempt_count, id]`,
    /// read with the virtual environment's Python (its sqlite3 module).
    func djangoQTaskRows() throws -> [[JSONValue]] {
        let query = """
            import json, sqlite3, sys
            rows = sqlite3.connect(sys.argv[1]).execute(
                "SELECT success, attempt_count, id FROM django_q_task ORDER BY started").fetchall()
            print(json.dumps([list(row) for row in rows]))
            """
        let result = try ProcessRunner.run([InteropHarness.python, "-c", query, databasePath], timeout: 30)
        guard result.status == 0 else {
            throw InteropSetupError("Reading django_q_task failed:\n\(result.stderr)")
        }
        return try JSONParser.parse(result.stdout).arrayValue?.compactMap(\.arrayValue) ?? []
    }
}

/// Polls `condition` every `interval` seconds until it is true or `timeout`
/// seconds pass, and returns whether it became true. An error thrown by the
/// condition counts as false.
func poll(timeout: Double, interval: Double = 0.2, _ condition: () throws -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while true {
        if (try? condition()) == true { return true }
        if Date() >= deadline { return false }
        Thread.sleep(forTimeInterval: interval)
    }
}
