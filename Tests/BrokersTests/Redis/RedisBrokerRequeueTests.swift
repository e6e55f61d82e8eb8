import Engine
import Testing
import TestSupport

@testable import Brokers

/// Failures are written the way the RQ 2.x/3.0 and Dramatiq 2.x workers
/// record them: RQ moves the job to `rq:failed:<q>` and appends a failed
/// execution to `rq:results:<id>`; Dramatiq moves the stored message to
/// `.XQ`/`.XQ.msgs`.
@Suite(.redisServer()) struct RedisBrokerRequeueTests {
    static let traceback = "Traceback (most recent call last):\nRuntimeError: cache store timed out"

    /// Enqueues an RQ job and fails it as an RQ worker would.
    private func failedRQJob(_ redis: RedisConnection, broker: RedisBroker, queue: String) throws -> String {
        _ = try broker.enqueue(BrokerFixtures.task(.rq, queue: queue))
        let prefix = broker.settings.rqKeyPrefix
        let id = try #require(try redis.execute(RedisCommand("LPOP", "\(prefix):queue:\(queue)")).stringValue)
        let excString = Base64Text.encode(Zlib.compress(Array(Self.traceback.utf8)))
        try redis.transaction([
            RedisCommand(
                "HSET", "\(prefix):job:\(id)", "status", "failed", "started_at", "2026-12-04T15:00:01.000000Z",
                "ended_at", "2026-12-04T15:00:02.500000Z", "worker_name", "w1"),
            RedisCommand("ZADD", "\(prefix):failed:\(queue)", 1_827_932_402, id),
            RedisCommand(
                "XADD", "\(prefix):results:\(id)", "*", "type", "2", "worker_name", "w1", "exc_string", excString,
                "execution_id", "e1"),
        ])
        return id
    }

    @Test func listsFailedRQJobWithLastError() throws {
        let server = try suiteServer()
        let redis = try BrokerFixtures.connection(server)
        let broker = try BrokerFixtures.broker(server, prefix: "frq") { $0.rqKeyPrefix = "frq" }
        let id = try failedRQJob(redis, broker: broker, queue: "work")

        let failures = broker.failedMessages(limit: 10)

        let failure = try #require(failures.first)
        #expect(failures.count == 1)
        #expect(failure.system == .rq)
        #expect(failure.queue == "work")
        #expect(failure.messageID == id)
        #expect(failure.error == Self.traceback)
        #expect(failure.failedAt == BrokerFixtures.now + 2.5)
        #expect(failure.attempts == 1)
        #expect(failure.batch == WireFixtures.batch)
        #expect(failure.body == RQJob.data(BrokerFixtures.task(.rq, queue: "work"), serializer: .pickle))
    }

    @Test func requeuesRQJobAsRegistryDoes() throws {
        let server = try suiteServer()
        let redis = try BrokerFixtures.connection(server)
        let broker = try BrokerFixtures.broker(server, prefix: "qrq", writeMode: true) { $0.rqKeyPrefix = "qrq" }
        let id = try failedRQJob(redis, broker: broker, queue: "work")
        let failure = try #require(broker.failedMessages(limit: 10).first)
        let dataBefore = try redis.execute(RedisCommand("HGET", "qrq:job:\(id)", "data"))

        try broker.requeue(failure)

        #expect(try redis.execute(RedisCommand("ZCARD", "qrq:failed:work")) == .integer(0))
        #expect(try redis.execute(RedisCommand("LRANGE", "qrq:queue:work", 0, -1)) == .array([.bulk(Array(id.utf8))]))
        let fields = try redis.execute(RedisCommand("HMGET", "qrq:job:\(id)", "status", "started_at", "ended_at", "enqueued_at"))
        #expect(
            fields
                == .array([
                    .bulk(Array("queued".utf8)), .bulk([]), .bulk([]), .bulk(Array("2026-12-04T15:00:00.000000Z".utf8)),
                ]))
        #expect(try redis.execute(RedisCommand("HGET", "qrq:job:\(id)", "data")) == dataBefore)
        #expect(try redis.execute(RedisCommand("SISMEMBER", "qrq:queues", "qrq:queue:work")) == .integer(1))
    }

    @Test func requeueTwiceReportsNotFound() throws {
        let server = try suiteServer()
        let redis = try BrokerFixtures.connection(server)
        let broker = try BrokerFixtures.broker(server, prefix: "twice", writeMode: true) { $0.rqKeyPrefix = "twice" }
        _ = try failedRQJob(redis, broker: broker, queue: "work")
        let failure = try #require(broker.failedMessages(limit: 10).first)
        try broker.requeue(failure)
        #expect {
            try broker.requeue(failure)
        } throws: { error in
            (error as? BrokerError)?.kind == .notFound
        }
        #expect(try redis.execute(RedisCommand("LLEN", "twice:queue:work")) == .integer(1))
    }

    @Test func requeueWithoutJobDataIsRejected() throws {
        // A failed-registry entry whose job hash expired: RQ's worker would
        // drop such a job, so requeueing it must not write a hash or queue it.
        let server = try suiteServer()
        let redis = try BrokerFixtures.connection(server)
        let broker = try BrokerFixtures.broker(server, prefix: "ghost", writeMode: true) { $0.rqKeyPrefix = "ghost" }
        broker.watch(QueueReference(.rq, "work"))
        try redis.execute(RedisCommand("ZADD", "ghost:failed:work", 1_827_932_402, "gone"))
        let failure = try #require(broker.failedMessages(limit: 10).first)
        #expect(failure.undecodableReason != nil)

        let error = #expect(throws: BrokerError.self) { try broker.requeue(failure) }

        #expect(error?.kind == .undecodable)
        #expect(error?.message.contains("ghost:job:gone has no data") == true, "\(error?.message ?? "")")
        #expect(try redis.execute(RedisCommand("EXISTS", "ghost:job:gone")) == .integer(0))
        #expect(try redis.execute(RedisCommand("LLEN", "ghost:queue:work")) == .integer(0))
        #expect(try redis.execute(RedisCommand("ZCARD", "ghost:failed:work")) == .integer(1))
    }

    @Test func requeueNeedsWriteMode() throws {
        let server = try suiteServer()
        let redis = try BrokerFixtures.connection(server)
        let broker = try BrokerFixtures.broker(server, prefix: "rorq") { $0.rqKeyPrefix = "rorq" }
        _ = try failedRQJob(redis, broker: broker, queue: "work")
        let failure = try #require(broker.failedMessages(limit: 10).first)
        #expect {
            try broker.requeue(failure)
        } throws: { error in
            (error as? BrokerError)?.kind == .readOnly
        }
        #expect(try redis.execute(RedisCommand("ZCARD", "rorq:failed:work")) == .integer(1))
    }

    /// Enqueues a Dramatiq message and dead-letters it as a worker's nack
    /// would after retries: the stored bytes carry the retry options.
    private func deadLetter(_ redis: RedisConnection, broker: RedisBroker) throws -> (redisID: String, stored: [UInt8]) {
        let namespace = broker.settings.dramatiqNamespace
        let message = try broker.enqueue(BrokerFixtures.task(.dramatiq, queue: "default"))
        let original = try DramatiqMessage.decode(message)
        var object = original.object
        var options = object["options"]?.objectValue ?? JSONObject()
        options["retries"] = 3
        options["traceback"] = .string(Self.traceback)
        options["eta"] = 1_796_396_300_000
        object["queue_name"] = "default.DQ"
        object["options"] = .object(options)
        let stored = PythonJSON.bytes(.object(object), separators: .compact)
        let redisID = original.redisMessageID
        try redis.transaction([
            RedisCommand("LREM", "\(namespace):default", 0, redisID), RedisCommand("HDEL", "\(namespace):default.msgs", redisID),
            RedisCommand("ZADD", "\(namespace):default.XQ", 1_796_396_401_000, redisID),
            RedisCommand("HSET", "\(namespace):default.XQ.msgs", redisID, stored),
        ])
        return (redisID, stored)
    }

    @Test func listsDramatiqDeadLetter() throws {
        let server = try suiteServer()
        let redis = try BrokerFixtures.connection(server)
        let broker = try BrokerFixtures.broker(server, prefix: "fdq") { $0.dramatiqNamespace = "fdq" }
        let (redisID, stored) = try deadLetter(redis, broker: broker)

        let failure = try #require(broker.failedMessages(limit: 10).first)

        #expect(failure.system == .dramatiq)
        #expect(failure.messageID == redisID)
        #expect(failure.body == stored)
        #expect(failure.error == Self.traceback)
        #expect(failure.attempts == 4)
        #expect(failure.failedAt == 1_796_396_401)
        #expect(failure.batch == WireFixtures.batch)
    }

    @Test func requeuesDramatiqDeadLetter() throws {
        let server = try suiteServer()
        let redis = try BrokerFixtures.connection(server)
        let broker = try BrokerFixtures.broker(server, prefix: "qdq", writeMode: true) { $0.dramatiqNamespace = "qdq" }
        let (redisID, stored) = try deadLetter(redis, broker: broker)
        let failure = try #require(broker.failedMessages(limit: 10).first)

        try broker.requeue(failure)

        #expect(try redis.execute(RedisCommand("ZCARD", "qdq:default.XQ")) == .integer(0))
        #expect(try redis.execute(RedisCommand("HLEN", "qdq:default.XQ.msgs")) == .integer(0))
        #expect(try redis.execute(RedisCommand("LRANGE", "qdq:default", 0, -1)) == .array([.bulk(Array(redisID.utf8))]))
        let requeued = try #require(try redis.execute(RedisCommand("HGET", "qdq:default.msgs", redisID)).bytesValue)
        let before = try DramatiqMessage.decode(stored)
        let after = try DramatiqMessage.decode(requeued)
        #expect(after.queueName == "default")
        #expect(after.redisMessageID == redisID)
        #expect(after.task.args == before.task.args)
        #expect(after.task.options["retries"] == 0)
        #expect(after.task.options["eta"] == nil)
        #expect(after.task.options["requeue_timestamp"] == .int(Int64(BrokerFixtures.now * 1000)))
        #expect(after.task.options["traceback"] == before.task.options["traceback"])
        #expect(after.task.options["dispatchtop"] == before.task.options["dispatchtop"])
    }

    @Test func requeueOfJunkDeadLetterIsRejected() throws {
        let server = try suiteServer()
        let redis = try BrokerFixtures.connection(server)
        let broker = try BrokerFixtures.broker(server, prefix: "jdq", writeMode: true) { $0.dramatiqNamespace = "jdq" }
        broker.watch(QueueReference(.dramatiq, "default"))
        try redis.transaction([
            RedisCommand("ZADD", "jdq:default.XQ", 1_796_396_401_000, "junk-1"),
            RedisCommand("HSET", "jdq:default.XQ.msgs", "junk-1", "not a dramatiq message"),
        ])
        let failure = try #require(broker.failedMessages(limit: 10).first)

        let error = #expect(throws: BrokerError.self) { try broker.requeue(failure) }

        #expect(error?.kind == .undecodable)
        #expect(error?.message.hasPrefix("Cannot requeue Dramatiq message 'junk-1'") == true, "\(error?.message ?? "")")
        #expect(try redis.execute(RedisCommand("ZCARD", "jdq:default.XQ")) == .integer(1))
        #expect(try redis.execute(RedisCommand("LLEN", "jdq:default")) == .integer(0))
    }

    @Test func failuresAreNewestFirstAndLimited() throws {
        let server = try suiteServer()
        let redis = try BrokerFixtures.connection(server)
        let broker = try BrokerFixtures.broker(server, prefix: "mix") {
            $0.rqKeyPrefix = "mix"
            $0.dramatiqNamespace = "mix"
        }
        _ = try failedRQJob(redis, broker: broker, queue: "work")
        _ = try deadLetter(redis, broker: broker)
        let failures = broker.failedMessages(limit: 10)
        #expect(failures.map(\.system) == [.rq, .dramatiq])
        #expect(broker.failedMessages(limit: 1).map(\.system) == [.rq])

        // One queue's failures are read from that queue's keys alone.
        let work = broker.failedMessages(system: .rq, queue: "work", limit: 10)
        #expect(work.count == 1)
        #expect(work.first?.queue == "work")
        #expect(broker.failedMessages(system: .rq, queue: "other", limit: 10).isEmpty)
        #expect(broker.failedMessages(system: .dramatiq, queue: failures[1].queue, limit: 10).map(\.system) == [.dramatiq])
        #expect(broker.failedMessages(system: .celery, queue: "celery", limit: 10).isEmpty)
    }

    @Test func celeryHasNothingToRequeue() throws {
        let server = try suiteServer()
        let broker = try BrokerFixtures.broker(server, prefix: "cn", writeMode: true)
        let message = FailedMessage(system: .celery, queue: "celery", messageID: "x", body: [])
        #expect {
            try broker.requeue(message)
        } throws: { error in
            (error as? BrokerError)?.kind == .notFound
        }
    }
}
