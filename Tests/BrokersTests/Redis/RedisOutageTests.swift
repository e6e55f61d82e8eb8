import Engine
import Foundation
import Testing
import TestSupport

@testable import Brokers

/// Each test kills and restarts its own server, so these run one at a time
/// and share no server with other suites.
@Suite(.serialized) struct RedisOutageTests {
    @Test func reconnectsAfterServerRestart() throws {
        let server = try RedisServer()
        defer { server.stop() }
        let logs = MemoryLogHandler()
        let redis = RedisConnection(
            url: try RedisURL(parsing: server.url()),
            options: RedisConnection.Options(initialBackoff: 0.05, maximumBackoff: 0.2),
            logger: Logger(label: "test", handler: logs, minimumLevel: .debug))
        try redis.execute(RedisCommand("SET", "before", "1"))

        server.kill()
        #expect {
            try redis.execute(RedisCommand("GET", "before"))
        } throws: { error in
            (error as? RedisError)?.isUnavailable == true
        }
        try server.start()

        let recovered = waitFor(timeout: 5) { (try? redis.ping()) != nil }
        #expect(recovered)
        #expect(redis.connectCount == 2)
        // The restarted server has no persistence, so the old key is gone.
        #expect(try redis.execute(RedisCommand("GET", "before")) == .null)
        #expect(logs.lines.contains { $0.contains("Redis reconnected") })
    }

    @Test func reconnectsWithoutErrorWhenServerRestartedWhileIdle() throws {
        let server = try RedisServer()
        defer { server.stop() }
        let redis = RedisConnection(url: try RedisURL(parsing: server.url()))
        try redis.ping()
        server.kill()
        try server.start()
        // The stale socket is noticed before the command is sent, so this succeeds at once.
        try redis.execute(RedisCommand("SET", "after-restart", "1"))
        #expect(redis.connectCount == 2)
    }

    @Test func enqueueFailsFastWhileDown() throws {
        let server = try RedisServer()
        defer { server.stop() }
        let logs = MemoryLogHandler()
        var settings = RedisBrokerSettings(url: try RedisURL(parsing: server.url()))
        settings.connection = RedisConnection.Options(initialBackoff: 0.5, maximumBackoff: 2)
        let broker = RedisBroker(settings: settings, logger: Logger(label: "test", handler: logs))
        _ = try broker.enqueue(BrokerFixtures.task(.rq, queue: "down"))
        server.kill()

        let started = Date()
        for _ in 0..<20 {
            #expect {
                try broker.enqueue(BrokerFixtures.task(.rq, queue: "down"))
            } throws: { error in
                (error as? BrokerError)?.kind == .unavailable
            }
        }
        #expect(Date().timeIntervalSince(started) < 0.5)
        let failures = logs.lines.filter { $0.contains("Redis connection failed") }
        #expect(failures.count == 1, "backoff should stop repeated connection attempts: \(failures)")
        #expect(failures.first?.contains("delay_ms=500") == true)
    }

    @Test func passwordNeverReachesTheLog() throws {
        let server = try RedisServer(password: "log-secret-9")
        defer { server.stop() }
        let logs = MemoryLogHandler()
        let redis = RedisConnection(
            url: try RedisURL(parsing: server.url()),
            options: RedisConnection.Options(initialBackoff: 0.01, maximumBackoff: 0.05),
            logger: Logger(label: "test", handler: logs, minimumLevel: .trace))
        try redis.ping()
        server.kill()
        _ = try? redis.ping()
        try server.start()
        #expect(waitFor(timeout: 5) { (try? redis.ping()) != nil })
        #expect(!logs.lines.isEmpty)
        #expect(logs.lines.allSatisfy { !$0.contains("log-secret-9") })
    }

    @Test func outboxDrainsAfterOutage() throws {
        let server = try RedisServer()
        defer { server.stop() }
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let journal = try FailureJournal(path: folder.file("journal.sqlite3"))
        var settings = RedisBrokerSettings(url: try RedisURL(parsing: server.url()))
        settings.connection = RedisConnection.Options(initialBackoff: 0.02, maximumBackoff: 0.1)
        let broker = RedisBroker(settings: settings)
        server.kill()

        // What a broker dispatcher does when Redis is down: the batch goes to the outbox.
        var batches: [Batch] = []
        for index in 0..<3 {
            var batch = WireFixtures.batch
            batch.id = UInt64(100 + index)
            batch.dispatcher = "django_rq"
            #expect(throws: BrokerError.self) { try broker.enqueue(BrokerFixtures.task(.rq, queue: "outbox", batch: batch)) }
            try journal.addToOutbox(batch, error: "Redis is down", at: BrokerFixtures.now)
            batches.append(batch)
        }
        let drainer = OutboxDrainer(
            journal: journal, broker: broker,
            options: OutboxDrainer.Options(initialDelay: 0.02, maximumDelay: 0.1, idleInterval: 0.02)
        ) { batch in
            BrokerFixtures.task(.rq, queue: "outbox", batch: batch)
        }

        let blocked = drainer.drainOnce()
        #expect(blocked.stoppedByOutage)
        #expect(blocked.sent == 0)
        #expect(blocked.remaining == 3)

        drainer.start()
        defer { drainer.stop() }
        try server.start()
        #expect(waitFor(timeout: 10) { drainer.waiting == 0 })

        let redis = try BrokerFixtures.connection(server)
        let ids = try redis.execute(RedisCommand("LRANGE", "rq:queue:outbox", 0, -1)).arrayValue?.compactMap(\.stringValue) ?? []
        #expect(ids.count == 3)
        var sentBatches: [UInt64] = []
        for id in ids {
            let data = try #require(try redis.execute(RedisCommand("HGET", "rq:job:\(id)", "data")).bytesValue)
            sentBatches.append(try TaskPayload.batch(from: RQJob.decode(id: id, data: data, origin: "outbox")).id)
        }
        #expect(sentBatches == [100, 101, 102])
        #expect(journal.listing().total == 0)
    }

    @Test func outboxResendsStoredPayloadAndJournalsRejects() throws {
        let server = try RedisServer()
        defer { server.stop() }
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let journal = try FailureJournal(path: folder.file("journal.sqlite3"))
        let broker = RedisBroker(settings: RedisBrokerSettings(url: try RedisURL(parsing: server.url())))
        let task = BrokerFixtures.task(.celery, queue: "stored")
        let payload = CeleryMessage.encode(task, stamp: CeleryMessageTests.stamp)
        var stored = WireFixtures.batch
        stored.payload = payload
        var orphan = WireFixtures.batch
        orphan.id = 8
        orphan.dispatcher = "inline"
        try journal.addToOutbox(stored, error: "down", at: BrokerFixtures.now)
        try journal.addToOutbox(orphan, error: "down", at: BrokerFixtures.now)
        let drainer = OutboxDrainer(journal: journal, broker: broker) { batch in
            batch.dispatcher == "celery" ? task : nil
        }

        let pass = drainer.drainOnce()

        #expect(pass.sent == 1)
        #expect(pass.rejected == 1)
        #expect(pass.remaining == 0)
        let redis = try BrokerFixtures.connection(server)
        #expect(try redis.execute(RedisCommand("LRANGE", "stored", 0, -1)) == .array([.bulk(payload)]))
        let listing = journal.listing()
        #expect(listing.total == 1)
        #expect(listing.rows.first?.batchID == 8)
    }
}
