import Engine
import Testing
import TestSupport

@testable import Brokers

@Suite(.redisServer()) struct RedisBrokerProbeTests {
    private func depth(_ broker: RedisBroker, _ name: String) throws -> QueueDepth {
        try #require(broker.depths().first { $0.name == name }, "no depth for \(name)")
    }

    @Test func celeryCountsPriorityListsAndUnacked() throws {
        let server = try suiteServer()
        let redis = try BrokerFixtures.connection(server)
        try redis.perform([RedisWrite([
            RedisCommand("LPUSH", "pc:work", "a", "b"), RedisCommand("LPUSH", "pc:work\u{06}\u{16}3", "c"),
            RedisCommand("LPUSH", "pc:work\u{06}\u{16}9", "d"), RedisCommand("LPUSH", "pc:other", "e"),
            RedisCommand("HSET", "pc:unacked", "t1", #"[{"body": "x"}, "", "work"]"#, "t2", #"[{}, "", "work"]"#,
                "t3", #"[{}, "", "other"]"#),
        ], atomic: false)])
        let broker = try BrokerFixtures.broker(server, prefix: "pc") {
            $0.celeryKeyPrefix = "pc:"
            $0.watchedQueues = [QueueReference(.celery, "work"), QueueReference(.celery, "other")]
        }
        let before = try BrokerFixtures.keyspace(redis, matching: "pc:*")

        let work = try depth(broker, "celery:work")
        let other = try depth(broker, "celery:other")

        #expect(work.ready == 4)
        #expect(work.inFlight == 2)
        #expect(work.failed == nil)
        #expect(other.ready == 1)
        #expect(other.inFlight == 1)
        #expect(work.readAt == BrokerFixtures.now)
        #expect(try BrokerFixtures.keyspace(redis, matching: "pc:*") == before)
    }

    @Test func celeryUnackedOverLimitIsNotScanned() throws {
        let server = try suiteServer()
        let redis = try BrokerFixtures.connection(server)
        try redis.execute(RedisCommand("HSET", "big:unacked", "t1", #"[{}, "", "q"]"#, "t2", #"[{}, "", "q"]"#))
        let broker = try BrokerFixtures.broker(server, prefix: "big") {
            $0.celeryKeyPrefix = "big:"
            $0.unackedScanLimit = 1
            $0.watchedQueues = [QueueReference(.celery, "q")]
        }
        let queue = try depth(broker, "celery:q")
        #expect(queue.inFlight == nil)
        #expect(queue.note?.contains("unacked holds 2 messages, over the scan limit of 1") == true)
    }

    @Test func rqCountsEveryRegistry() throws {
        let server = try suiteServer()
        let redis = try BrokerFixtures.connection(server)
        try redis.perform([RedisWrite([
            RedisCommand("RPUSH", "prq:queue:jobs", "1", "2", "3"), RedisCommand("RPUSH", "prq:queue:jobs:intermediate", "4"),
            RedisCommand("ZADD", "prq:wip:jobs", 1, "5:x", 2, "6:y"), RedisCommand("ZADD", "prq:scheduled:jobs", 1, "7"),
            RedisCommand("ZADD", "prq:deferred:jobs", 1, "8"), RedisCommand("ZADD", "prq:failed:jobs", 1, "9"),
        ], atomic: false)])
        let broker = try BrokerFixtures.broker(server, prefix: "prq") {
            $0.rqKeyPrefix = "prq"
            $0.watchedQueues = [QueueReference(.rq, "jobs")]
        }
        let before = try BrokerFixtures.keyspace(redis, matching: "prq:*")
        let jobs = try depth(broker, "django_rq:jobs")
        #expect(jobs.ready == 3)
        #expect(jobs.inFlight == 3)
        #expect(jobs.delayed == 2)
        #expect(jobs.failed == 1)
        #expect(try BrokerFixtures.keyspace(redis, matching: "prq:*") == before)
    }

    @Test func keyOfWrongTypeIsNamedAndLoggedOnce() throws {
        let server = try suiteServer()
        let redis = try BrokerFixtures.connection(server)
        try redis.execute(RedisCommand("SET", "wrq:queue:jobs", "not a list"))
        var settings = RedisBrokerSettings(url: try RedisURL(parsing: server.url()))
        settings.rqKeyPrefix = "wrq"
        settings.watchedQueues = [QueueReference(.rq, "jobs")]
        let log = MemoryLogHandler()
        let broker = RedisBroker(settings: settings, logger: Logger(label: "test", handler: log))

        let first = try depth(broker, "django_rq:jobs")
        let second = try depth(broker, "django_rq:jobs")

        #expect(first.ready == nil)
        #expect(first.failed == 0)
        let note = first.note ?? ""
        #expect(note.hasPrefix("Redis rejected LLEN wrq:queue:jobs: WRONGTYPE"), "\(note)")
        #expect(second.note == first.note)
        #expect(first.probeError?.hasPrefix("Redis rejected LLEN wrq:queue:jobs: WRONGTYPE") == true)
        let warnings = log.all.filter { $0.message == "Queue probe rejected" }
        #expect(warnings.count == 1, "\(log.lines)")
    }

    @Test func dramatiqSeparatesReadyFromInFlight() throws {
        let server = try suiteServer()
        let redis = try BrokerFixtures.connection(server)
        try redis.perform([RedisWrite([
            RedisCommand("RPUSH", "pdq:default", "r1", "r2"),
            RedisCommand("HSET", "pdq:default.msgs", "r1", "{}", "r2", "{}", "r3", "{}", "r4", "{}", "r5", "{}"),
            RedisCommand("HSET", "pdq:default.DQ.msgs", "r6", "{}"), RedisCommand("ZADD", "pdq:default.XQ", 1, "r7"),
        ], atomic: false)])
        let broker = try BrokerFixtures.broker(server, prefix: "pdq") {
            $0.dramatiqNamespace = "pdq"
            $0.watchedQueues = [QueueReference(.dramatiq, "default")]
        }
        let queue = try depth(broker, "dramatiq:default")
        #expect(queue.ready == 2)
        #expect(queue.inFlight == 3)
        #expect(queue.delayed == 1)
        #expect(queue.failed == 1)
    }

    @Test func djangoQFailuresNeedDatabase() throws {
        let server = try suiteServer()
        let redis = try BrokerFixtures.connection(server)
        try redis.execute(RedisCommand("RPUSH", "django_q:probecluster:q", "p1", "p2"))
        let broker = try BrokerFixtures.broker(server, prefix: "pq") {
            $0.watchedQueues = [QueueReference(.djangoQ, "probecluster")]
        }
        let queue = try depth(broker, "django_q:probecluster")
        #expect(queue.ready == 2)
        #expect(queue.failed == nil)
        #expect(queue.note?.contains("failures live in the Django database") == true)
    }

    @Test func djangoQFailuresFromSQLite() throws {
        let server = try suiteServer()
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let database = folder.file("django.sqlite3")
        let created = try ProcessRunner.run([
            "sqlite3", database,
            """
            CREATE TABLE django_q_task (id varchar(32) PRIMARY KEY, name varchar(100), func varchar(256), success bool);
            INSERT INTO django_q_task VALUES ('a', 'n1', 'f', 0), ('b', 'n2', 'f', 1), ('c', 'n3', 'f', 0);
            """,
        ])
        #expect(created.status == 0, "sqlite3 failed: \(created.stderr)")
        let broker = try BrokerFixtures.broker(server, prefix: "pqs") {
            $0.djangoQ.databasePath = database
            $0.watchedQueues = [QueueReference(.djangoQ, "sqlitecluster")]
        }
        let queue = try depth(broker, "django_q:sqlitecluster")
        #expect(queue.failed == 2)
        #expect(queue.source.contains("sqlite django_q_task"))
    }

    @Test func enqueuedQueuesJoinTheProbes() throws {
        let server = try suiteServer()
        let broker = try BrokerFixtures.broker(server, prefix: "join") { $0.rqKeyPrefix = "join" }
        _ = try broker.enqueue(BrokerFixtures.task(.rq, queue: "joined"))
        let queue = try depth(broker, "django_rq:joined")
        #expect(queue.ready == 1)
        #expect(broker.queues == [QueueReference(.rq, "joined")])
    }

    @Test func statusReportsUpAndDown() throws {
        let server = try suiteServer()
        let up = try BrokerFixtures.broker(server, prefix: "up")
        #expect(up.status.isUp)
        let port = try freeLoopbackPort()
        let down = RedisBroker(
            settings: RedisBrokerSettings(
                url: try RedisURL(parsing: "redis://127.0.0.1:\(port)/0"),
                watchedQueues: [QueueReference(.rq, "default")]))
        let status = down.status
        #expect(!status.isUp)
        #expect(status.detail?.contains("Cannot connect to Redis at 'redis://127.0.0.1:\(port)/0'") == true)
        let depth = try #require(down.depths().first)
        #expect(depth.ready == nil)
        #expect(depth.note?.hasPrefix("Redis is unavailable") == true)
    }
}
