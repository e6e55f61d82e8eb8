import Engine
import Foundation
import Testing
import TestSupport

/// `dispatchtop run --broker` against a Redis it cannot use: it exits
/// non-zero before reading any event or opening its journal, with a message
/// that names the URL (never the password) and the fix.
@Suite(.serialized)
struct RedisStartupErrorTests {
    @Test func redisNotRunningStopsRun() throws {
        let folder = try TemporaryDirectory(prefix: "interop-startup")
        defer { folder.remove() }
        let url = "redis://127.0.0.1:\(try freeLoopbackPort())/0"

        let output = try Self.run(url: url, in: folder)
        #expect(output.status == 2, "\(output.transcript)")
        #expect(output.stdout.isEmpty)
        #expect(output.stderr.contains("Cannot connect to Redis at '\(url)'"), "\(output.stderr)")
        #expect(output.stderr.contains("Check that Redis is running"), "\(output.stderr)")
        #expect(!FileManager.default.fileExists(atPath: folder.file("journal.sqlite3")), "the journal was created")
    }

    @Test func wrongPasswordIsRejected() throws {
        let server = try InteropHarness.startRedis(password: "right-password-7")
        defer { server.stop() }
        let folder = try TemporaryDirectory(prefix: "interop-startup")
        defer { folder.remove() }

        let output = try Self.run(url: "redis://:wrong-password-3@127.0.0.1:\(server.port)/0", in: folder)
        #expect(output.status == 2, "\(output.transcript)")
        #expect(output.stdout.isEmpty)
        #expect(output.stderr.contains("redis://:***@127.0.0.1:\(server.port)/0"), "\(output.stderr)")
        #expect(output.stderr.contains("rejected the credentials"), "\(output.stderr)")
        #expect(!output.stderr.contains("wrong-password-3"), "the password is printed: \(output.stderr)")
        #expect(!FileManager.default.fileExists(atPath: folder.file("journal.sqlite3")), "the journal was created")
    }

    @Test func missingPasswordIsNamed() throws {
        let server = try InteropHarness.startRedis(password: "right-password-7")
        defer { server.stop() }
        let folder = try TemporaryDirectory(prefix: "interop-startup")
        defer { folder.remove() }

        let output = try Self.run(url: "redis://127.0.0.1:\(server.port)/0", in: folder)
        #expect(output.status == 2, "\(output.transcript)")
        #expect(output.stderr.contains("requires a password"), "\(output.stderr)")
        #expect(output.stderr.contains("redis://:password@host:port/db"), "\(output.stderr)")
    }

    @Test func wrongDatabaseIndexIsRejected() throws {
        let server = try InteropHarness.startRedis()
        defer { server.stop() }
        let folder = try TemporaryDirectory(prefix: "interop-startup")
        defer { folder.remove() }
        let url = "redis://127.0.0.1:\(server.port)/99"

        let output = try Self.run(url: url, in: folder)
        #expect(output.status == 2, "\(output.transcript)")
        #expect(output.stdout.isEmpty)
        #expect(output.stderr.contains("Redis at '\(url)' has no database 99"), "\(output.stderr)")
        #expect(output.stderr.contains("Use an index below"), "\(output.stderr)")
        #expect(!FileManager.default.fileExists(atPath: folder.file("journal.sqlite3")), "the journal was created")
    }

    @Test func malformedURLsNameTheOptionFirst() throws {
        let folder = try TemporaryDirectory(prefix: "interop-startup")
        defer { folder.remove() }

        let broker = try Self.run(url: "http://127.0.0.1:6379/0", in: folder)
        #expect(broker.status == 2, "\(broker.transcript)")
        #expect(broker.stderr.hasPrefix("--broker: Invalid Redis URL 'http://127.0.0.1:6379/0'"), "\(broker.stderr)")

        let configuration = try InteropConfiguration.write(
            to: folder.path, dispatcher: "inline", brokers: InteropConfiguration.brokers(for: "celery"))
        let cache = try DispatchtopCommand.run([
            "run", "--config", configuration, "--events", InteropHarness.events, "--cache", "redis://127.0.0.1:1/0?db=2",
            "--journal", folder.file("journal.sqlite3"),
        ])
        #expect(cache.status == 2, "\(cache.transcript)")
        #expect(cache.stderr.hasPrefix("--cache: Invalid Redis URL 'redis://127.0.0.1:1/0?db=2'"), "\(cache.stderr)")
        #expect(cache.stderr.contains("Use 'memory' for the embedded cache."), "\(cache.stderr)")
    }

    /// Runs the harness's events with every rule on Celery against `url`.
    private static func run(url: String, in folder: TemporaryDirectory) throws -> DispatchtopCommand.Output {
        let configuration = try InteropConfiguration.write(
            to: folder.path, dispatcher: "celery", brokers: InteropConfiguration.brokers(for: "celery"))
        return try DispatchtopCommand.run([
            "run", "--config", configuration, "--events", InteropHarness.events, "--broker", url,
            "--journal", folder.file("journal.sqlite3"),
        ])
    }
}
