import Engine
import Foundation
import Testing
import TestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// The console on a real redis-server started for each test: read-only
/// refusals, and the header through an outage.
@Suite(.serialized) struct ConsoleRedisEndToEndTests {
    /// The fixture configuration with order-status-on-order sent to Celery,
    /// so a trigger or a replay writes to the broker.
    static func celeryConfig(in console: TmuxConsole) throws -> String {
        let text = try String(contentsOfFile: TmuxConsole.inProcessConfig, encoding: .utf8)
            .replacingOccurrences(of: "\"dispatcher\": \"asyncio\"", with: "\"dispatcher\": \"celery\"")
        return try console.folder.write("celery-config.json", text)
    }

    /// Journals one failed Celery batch, as a worker's failure would leave it.
    static func seedCeleryFailure(_ path: String) throws {
        let journal = try FailureJournal(path: path)
        let batch = Batch(
            id: 41, dispatcher: "celery", batchKey: "celery", model: "shop.Order", pk: .int(7), signal: .postSave,
            ruleIDs: ["order-status-on-order"], restflowRuleIDs: [4],
            ruleKwargs: JSONObject([("order-status-on-order", ["order_id": .int(7)])]), createdAt: Date().timeIntervalSince1970)
        try journal.record(
            batch, error: BatchError(kind: .broker, message: "worker raised TimeoutError"), attempts: 1, ruleFingerprints: [:],
            at: Date().timeIntervalSince1970)
    }

    static func redisCLI(_ server: RedisServer, _ arguments: String...) throws -> String {
        try ProcessRunner.run(["redis-cli", "-p", String(server.port)] + arguments, timeout: 10).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Waits for a status line naming `subject` and --write, and returns it.
    static func waitForRefusal(_ console: TmuxConsole, _ subject: String) throws -> String {
        let screen = try console.waitUntil("a refusal of '\(subject)'") { $0.contains(subject) && $0.contains("--write") }
        return screen.split(separator: "\n").first { $0.contains(subject) }.map(String.init) ?? ""
    }

    @Test func readOnlyRefusesEveryWrite() throws {
        let server = try RedisServer()
        let console = try TmuxConsole(width: 140, height: 30)
        let journal = console.folder.file("journal.sqlite3")
        try Self.seedCeleryFailure(journal)
        let broker = server.url(database: 0)
        try console.launch(["--config", Self.celeryConfig(in: console), "--journal", journal, "--broker", broker])
        let header = try console.waitFor("read-only")
        #expect(header.contains("broker: \(broker)"))

        try console.press("t")
        let trigger = try Self.waitForRefusal(console, "Triggering a dispatch writes to the broker \(broker)")
        #expect(trigger.contains("restart with --write to allow it"), "\(trigger)")
        #expect(!(try console.screen()).contains("Trigger a dispatch"), "the trigger form did not open")

        try console.press("Tab", "Tab", "Tab")
        try console.waitFor("[ Failures ]")
        try console.waitFor("worker raised TimeoutError")
        try console.press("r")
        _ = try Self.waitForRefusal(console, "Replaying failure 1 writes to the broker \(broker);")

        try console.press("R")
        _ = try Self.waitForRefusal(console, "Replaying every open failure writes to the broker \(broker);")

        try console.press("Enter")
        try console.waitFor("Failure 1 · batch #41")
        try console.press("r")
        _ = try Self.waitForRefusal(console, "Replaying failure 1 writes to the broker \(broker);")
        #expect(!(try console.screen()).contains("Replay of failure"), "no replay started")

        // Nothing reached Redis: no queue, no job, no key at all.
        #expect(try Self.redisCLI(server, "DBSIZE") == "0")
        try console.press("Escape")
        try console.quitAndCheckRestored()
    }

    /// Redis goes away while the console runs: the header says DOWN in words
    /// with the outbox count, keeps its labels, and follows the outbox as
    /// it drains once Redis is back.
    @Test func outageShowsDownAndTheOutbox() throws {
        let server = try RedisServer()
        let console = try TmuxConsole(width: 120, height: 30)
        let feed = try EventFeed(console.folder.write("events.jsonl", ""))
        try console.launch([
            "--config", Self.celeryConfig(in: console), "--journal", console.folder.file("journal.sqlite3"),
            "--broker", server.url(database: 0), "--write", "--events", feed.path, "--follow",
        ])
        try console.waitFor("WRITE mode")

        server.kill()
        try console.waitFor("broker DOWN: ")
        try feed.appendOrderCreates(1...20)
        let header = try console.waitUntil("the outage in the header") { screen in
            let top = screen.split(separator: "\n").first.map(String.init) ?? ""
            return top.contains(" DOWN ") && top.contains("outbox 20 waiting")
        }.split(separator: "\n")[0]
        #expect(header.hasPrefix(" dispatchtop  broker: "), "\(header)")
        #expect(header.contains("cache: memory"), "\(header)")

        try server.start()
        let after = try console.waitUntil("the outbox drained", timeout: 40) { screen in
            let top = screen.split(separator: "\n").first.map(String.init) ?? ""
            return !top.contains("outbox") && !top.contains("DOWN")
        }
        #expect(after.split(separator: "\n")[0].contains("broker: "))
        #expect(try Self.redisCLI(server, "LLEN", "celery") == "20")
        try console.quitAndCheckRestored()
    }

    @Test func demoWithoutWriteSaysWhyItHasNoSource() throws {
        let server = try RedisServer()
        let console = try TmuxConsole(width: 140, height: 30)
        try console.launch(["--journal", console.folder.file("journal.sqlite3"), "--broker", server.url(database: 0)])

        let screen = try console.waitFor("The demo generator needs --write with a Redis broker")
        #expect(screen.contains("no event source"), "\(screen)")
        try console.quitAndCheckRestored()
    }

    @Test func cacheOutageShowsInTheHeader() throws {
        let server = try RedisServer()
        let console = try TmuxConsole(width: 140, height: 30)
        let cache = server.url(database: 1)
        try console.launch([
            "--config", TmuxConsole.inProcessConfig, "--journal", console.folder.file("journal.sqlite3"), "--cache", cache,
        ])
        try console.waitFor("cache: ")

        server.kill()
        let down = try console.waitUntil("the cache marked DOWN") { screen in
            let top = screen.split(separator: "\n").first.map(String.init) ?? ""
            return top.contains(" DOWN ") && screen.contains("cache DOWN: Cannot connect to Redis")
        }
        #expect(!down.contains("broker DOWN"), "\(down)")

        try server.start()
        _ = try console.waitUntil("the cache back", timeout: 40) { screen in
            !(screen.split(separator: "\n").first.map(String.init) ?? "").contains("DOWN")
        }
        try console.quitAndCheckRestored()
    }
}
