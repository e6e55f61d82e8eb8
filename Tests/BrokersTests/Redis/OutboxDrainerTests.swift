import Engine
import Foundation
import Synchronization
import Testing
import TestSupport

@testable import Brokers

/// ``OutboxDrainer/drainOnce()`` sending a pass through the pipelined path.
/// Each test starts its own server, so that command counts and ACL users
/// belong to it alone.
@Suite struct OutboxDrainerTests {
    /// Returns an outbox batch of dispatcher `django_rq` with a distinct id.
    static func rqBatch(_ id: UInt64, payload: [UInt8]? = nil) -> Batch {
        var batch = WireFixtures.batch
        batch.id = id
        batch.dispatcher = "django_rq"
        batch.payload = payload
        return batch
    }

    /// Returns the batch ids that the jobs in an RQ queue carry, in queue order.
    static func batchIDs(_ redis: RedisConnection, queue: String) throws -> [UInt64] {
        let ids = try redis.execute(RedisCommand("LRANGE", RQJob.queueKey(queue), 0, -1)).arrayValue ?? []
        return try ids.map { id in
            let jobID = id.stringValue ?? ""
            let data = try redis.execute(RedisCommand("HGET", RQJob.jobKey(jobID), "data")).bytesValue ?? []
            return try TaskPayload.batch(from: RQJob.decode(id: jobID, data: data, origin: queue)).id
        }
    }

    @Test func passSendsEntriesInOnePipeline() throws {
        let server = try RedisServer()
        defer { server.stop() }
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let journal = try FailureJournal(path: folder.file("journal.sqlite3"))
        let broker = try BrokerFixtures.broker(server, prefix: "drain")
        let redis = try BrokerFixtures.connection(server)
        // 40 RQ entries, every other one with its stored payload, a Celery
        // entry with its envelope, and an entry with no broker task between them.
        var storedPayloads: [UInt64: [UInt8]] = [:]
        for index in 0..<40 {
            let id = UInt64(200 + index)
            var payload: [UInt8]?
            if index % 2 == 1 {
                payload = RQJob.data(BrokerFixtures.task(.rq, queue: "drained", batch: Self.rqBatch(id)), serializer: .pickle)
                storedPayloads[id] = payload
            }
            try journal.addToOutbox(Self.rqBatch(id, payload: payload), error: "down", at: BrokerFixtures.now)
            if index == 20 {
                var orphan = WireFixtures.batch
                orphan.id = 9
                orphan.dispatcher = "inline"
                try journal.addToOutbox(orphan, error: "down", at: BrokerFixtures.now)
            }
        }
        let celeryTask = BrokerFixtures.task(.celery, queue: "drained-celery")
        var celeryBatch = WireFixtures.batch
        celeryBatch.payload = CeleryMessage.encode(celeryTask, stamp: CeleryMessageTests.stamp)
        try journal.addToOutbox(celeryBatch, error: "down", at: BrokerFixtures.now)
        let sentBatches = Mutex<[UInt64]>([])
        let drainer = OutboxDrainer(
            journal: journal, broker: broker, onSent: { batch in sentBatches.withLock { $0.append(batch.id) } }
        ) { batch in
            switch batch.dispatcher {
            case "django_rq": return BrokerFixtures.task(.rq, queue: "drained", batch: batch)
            case "celery": return celeryTask
            default: return nil
            }
        }
        try redis.execute(RedisCommand("CONFIG", "RESETSTAT"))

        let pass = drainer.drainOnce()

        #expect(pass.sent == 41)
        #expect(pass.rejected == 1)
        #expect(pass.remaining == 0)
        #expect(!pass.stoppedByOutage)
        let expectedOrder = (200..<240).map(UInt64.init) + [celeryBatch.id]
        #expect(sentBatches.withLock { $0 } == expectedOrder)
        #expect(journal.listing().rows.map(\.batchID) == [9])
        #expect(try Self.batchIDs(redis, queue: "drained") == (200..<240).map(UInt64.init))
        // Stored payloads are resent byte for byte.
        let ids = try redis.execute(RedisCommand("LRANGE", RQJob.queueKey("drained"), 0, -1)).arrayValue ?? []
        for (index, id) in ids.enumerated() where index % 2 == 1 {
            let data = try redis.execute(RedisCommand("HGET", RQJob.jobKey(id.stringValue ?? ""), "data")).bytesValue
            #expect(data == storedPayloads[UInt64(200 + index)], "job \(index)")
        }
        #expect(try redis.execute(RedisCommand("LRANGE", "drained-celery", 0, -1)) == .array([.bulk(celeryBatch.payload ?? [])]))
        // The 41 entries went out in groups of 16, the RQ jobs of each group in one transaction.
        let calls = try RedisBrokerPipelinedTests.commandCalls(redis)
        #expect(calls["multi"] == 3)
        #expect(calls["hset"] == 40)
        #expect(calls["lpush"] == 1)
    }

    @Test func entriesClaimedByAnotherDrainerAreLeftToIt() throws {
        let server = try RedisServer()
        defer { server.stop() }
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let journal = try FailureJournal(path: folder.file("journal.sqlite3"))
        let broker = try BrokerFixtures.broker(server, prefix: "claims")
        let redis = try BrokerFixtures.connection(server)
        for id in 300..<305 {
            try journal.addToOutbox(Self.rqBatch(UInt64(id)), error: "down", at: BrokerFixtures.now)
        }
        // Another process claimed the first three for the next two minutes.
        let now = Date().timeIntervalSince1970
        let other = try journal.claimOutboxEntries(limit: 3, owner: "other-process", until: now + 120, now: now)
        #expect(other.count == 3)
        let drainer = OutboxDrainer(journal: journal, broker: broker) { batch in
            BrokerFixtures.task(.rq, queue: "claimed", batch: batch)
        }

        let pass = drainer.drainOnce()

        #expect(pass.sent == 2)
        #expect(pass.remaining == 3)
        #expect(try Self.batchIDs(redis, queue: "claimed") == [303, 304])
        // Once the other process gives them up, the next pass sends them.
        try journal.releaseOutboxClaims(owner: "other-process")
        #expect(drainer.drainOnce().sent == 3)
        #expect(try Self.batchIDs(redis, queue: "claimed") == [303, 304, 300, 301, 302])
        #expect(journal.outboxCount() == 0)
    }

    @Test func entryRejectedInQueueingLeavesOthersForNextPass() throws {
        let server = try RedisServer()
        defer { server.stop() }
        let admin = try BrokerFixtures.connection(server)
        // The drainer's user may not write the hash of job id drain-0003, so
        // Redis rejects that HSET while queueing it and aborts the transaction.
        try admin.execute(
            RedisCommand(
                "ACL", "SETUSER", "drainer", "on", ">drain-secret", "~rq:queue:*", "~rq:queues",
                "~rq:job:drain-000[124-9]", "+@all"))
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let journal = try FailureJournal(path: folder.file("journal.sqlite3"))
        let broker = try BrokerFixtures.broker(server, prefix: "drain") {
            $0.url = RedisURL(host: "127.0.0.1", port: server.port, user: "drainer", password: "drain-secret")
        }
        for id in 300..<304 {
            try journal.addToOutbox(Self.rqBatch(UInt64(id)), error: "down", at: BrokerFixtures.now)
        }
        let drainer = OutboxDrainer(journal: journal, broker: broker) { batch in
            BrokerFixtures.task(.rq, queue: "acl", batch: batch)
        }

        let first = drainer.drainOnce()

        #expect(first.sent == 0)
        #expect(first.rejected == 1)
        #expect(first.remaining == 3)
        #expect(!first.stoppedByOutage)
        let rejected = try journal.entries(FailureFilter())
        #expect(rejected.map(\.batch.id) == [302])
        #expect(rejected.first?.error.message.contains("NOPERM") == true, "\(rejected.first?.error.message ?? "")")
        #expect(try admin.execute(RedisCommand("EXISTS", RQJob.queueKey("acl"))) == .integer(0))

        let second = drainer.drainOnce()

        #expect(second.sent == 3)
        #expect(second.rejected == 0)
        #expect(second.remaining == 0)
        #expect(try Self.batchIDs(admin, queue: "acl") == [300, 301, 303])
    }

    @Test func wrongTypeQueueRejectsOnlyItsEntries() throws {
        let server = try RedisServer()
        defer { server.stop() }
        let redis = try BrokerFixtures.connection(server)
        try redis.execute(RedisCommand("SET", RQJob.queueKey("broken"), "not a list"))
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let journal = try FailureJournal(path: folder.file("journal.sqlite3"))
        let broker = try BrokerFixtures.broker(server, prefix: "typed")
        for id in 400..<406 {
            try journal.addToOutbox(Self.rqBatch(UInt64(id)), error: "down", at: BrokerFixtures.now)
        }
        // Even batch ids go to the broken queue, odd ones to a good one, in one transaction.
        let drainer = OutboxDrainer(journal: journal, broker: broker) { batch in
            BrokerFixtures.task(.rq, queue: batch.id % 2 == 0 ? "broken" : "good", batch: batch)
        }

        let pass = drainer.drainOnce()

        #expect(pass.sent == 3)
        #expect(pass.rejected == 3)
        #expect(pass.remaining == 0)
        #expect(try Self.batchIDs(redis, queue: "good") == [401, 403, 405])
        let rejected = try journal.entries(FailureFilter())
        #expect(rejected.map(\.batch.id) == [400, 402, 404])
        #expect(rejected.allSatisfy { $0.error.message.contains("WRONGTYPE") }, "\(rejected.map(\.error.message))")
    }
}
