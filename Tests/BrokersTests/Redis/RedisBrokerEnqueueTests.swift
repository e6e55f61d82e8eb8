import Engine
import Testing
import TestSupport

@testable import Brokers

@Suite(.redisServer()) struct RedisBrokerEnqueueTests {
    @Test func celeryLandsInPriorityList() throws {
        let server = try suiteServer()
        let broker = try BrokerFixtures.broker(server, prefix: "cel") { $0.celeryKeyPrefix = "enq:" }
        let redis = try BrokerFixtures.connection(server)
        var urgent = BrokerFixtures.task(.celery, queue: "cache-invalidation")
        urgent.options["priority"] = 7

        let stored = try broker.enqueue(BrokerFixtures.task(.celery, queue: "cache-invalidation"))
        let storedUrgent = try broker.enqueue(urgent)

        let plain = try redis.execute(RedisCommand("LRANGE", "enq:cache-invalidation", 0, -1))
        #expect(plain == .array([.bulk(stored)]))
        let bucket = try redis.execute(RedisCommand("LRANGE", "enq:cache-invalidation\u{06}\u{16}6", 0, -1))
        #expect(bucket == .array([.bulk(storedUrgent)]))
        let decoded = try CeleryMessage.decode(stored)
        #expect(decoded.id == "cel-0001")
        #expect(try TaskPayload.batch(from: decoded) == WireFixtures.batch)
    }

    @Test func rqWritesHashAndQueue() throws {
        let server = try suiteServer()
        let broker = try BrokerFixtures.broker(server, prefix: "rq") { $0.rqKeyPrefix = "rqenq" }
        let redis = try BrokerFixtures.connection(server)

        let data = try broker.enqueue(BrokerFixtures.task(.rq, queue: "low"))

        #expect(try redis.execute(RedisCommand("LRANGE", "rqenq:queue:low", 0, -1)) == .array([.bulk(Array("rq-0001".utf8))]))
        #expect(try redis.execute(RedisCommand("SMEMBERS", "rqenq:queues")) == .array([.bulk(Array("rqenq:queue:low".utf8))]))
        let fields = try redis.execute(RedisCommand("HMGET", "rqenq:job:rq-0001", "data", "status", "origin", "enqueued_at", "timeout"))
        #expect(
            fields
                == .array([
                    .bulk(data), .bulk(Array("queued".utf8)), .bulk(Array("low".utf8)),
                    .bulk(Array("2026-12-04T15:00:00.000000Z".utf8)), .bulk(Array("180".utf8)),
                ]))
        let decoded = try RQJob.decode(id: "rq-0001", data: data, origin: "low")
        #expect(try TaskPayload.batch(from: decoded) == WireFixtures.batch)
    }

    @Test func rqJSONSerializerWhenConfigured() throws {
        let server = try suiteServer()
        let broker = try BrokerFixtures.broker(server, prefix: "rqj") {
            $0.rqKeyPrefix = "rqjson"
            $0.rqSerializer = .json
        }
        let data = try broker.enqueue(BrokerFixtures.task(.rq, queue: "default"))
        let call = try Zlib.decompress(data)
        #expect(call.first == UInt8(ascii: "["))
        #expect(try RQJob.decode(id: "rqj-0001", data: data, origin: nil).taskName == "restflow.caching.tasks.run_cache_rules")
    }

    @Test func dramatiqStoresMessageUnderItsRedisID() throws {
        let server = try suiteServer()
        let broker = try BrokerFixtures.broker(server, prefix: "dq") { $0.dramatiqNamespace = "dqenq" }
        let redis = try BrokerFixtures.connection(server)

        let message = try broker.enqueue(BrokerFixtures.task(.dramatiq, queue: "default"))

        let stored = try DramatiqMessage.decode(message)
        #expect(stored.redisMessageID == "dq-0002")
        #expect(try redis.execute(RedisCommand("LRANGE", "dqenq:default", 0, -1)) == .array([.bulk(Array("dq-0002".utf8))]))
        #expect(try redis.execute(RedisCommand("HGET", "dqenq:default.msgs", "dq-0002")) == .bulk(message))
        #expect(try TaskPayload.batch(from: stored.task) == WireFixtures.batch)
    }

    @Test func djangoQPushesSignedPackage() throws {
        let server = try suiteServer()
        let broker = try BrokerFixtures.broker(server, prefix: "djq")
        let redis = try BrokerFixtures.connection(server)

        let package = try broker.enqueue(BrokerFixtures.task(.djangoQ, queue: "enqcluster"))

        #expect(try redis.execute(RedisCommand("LRANGE", "django_q:enqcluster:q", 0, -1)) == .array([.bulk(package)]))
        let signer = DjangoSigner(secret: "wire-test-secret-key", salt: "wireq")
        let decoded = try DjangoQPackage.decode(String(decoding: package, as: UTF8.self), signer: signer)
        #expect(decoded.enqueuedAt == BrokerFixtures.now)
        #expect(try TaskPayload.batch(from: decoded) == WireFixtures.batch)
    }

    @Test func djangoQWithoutSecretIsConfigurationError() throws {
        let server = try suiteServer()
        let broker = try BrokerFixtures.broker(server, prefix: "nosecret") { $0.djangoQ.secretKey = nil }
        #expect {
            try broker.enqueue(BrokerFixtures.task(.djangoQ, queue: "c"))
        } throws: { error in
            guard let error = error as? BrokerError else { return false }
            return error.kind == .rejected && error.message.contains("SECRET_KEY")
        }
        #expect(throws: BrokerError.self) { try broker.settings.validate(for: [.djangoQ]) }
        #expect(throws: Never.self) { try broker.settings.validate(for: [.rq, .celery]) }
    }

    @Test func bulkEnqueueUsesOnePipeline() throws {
        let server = try suiteServer()
        let broker = try BrokerFixtures.broker(server, prefix: "bulk") { $0.rqKeyPrefix = "rqbulk" }
        let redis = try BrokerFixtures.connection(server)
        let tasks = (0..<25).map { _ in BrokerFixtures.task(.rq, queue: "bulk") }

        let stored = try broker.enqueue(contentsOf: tasks)

        #expect(stored.count == 25)
        #expect(try redis.execute(RedisCommand("LLEN", "rqbulk:queue:bulk")) == .integer(25))
        #expect(try redis.execute(RedisCommand("EXISTS", "rqbulk:job:bulk-0025")) == .integer(1))
    }

    @Test func bulkEnqueueOfManyGroupsKeepsOrder() throws {
        let server = try suiteServer()
        let broker = try BrokerFixtures.broker(server, prefix: "mixed") {
            $0.celeryKeyPrefix = "mixed:"
            $0.rqKeyPrefix = "rqmixed"
            $0.dramatiqNamespace = "dqmixed"
        }
        let redis = try BrokerFixtures.connection(server)
        // 60 tasks span four groups of RedisBroker.streamGroupSize, all four systems in turn.
        let tasks = (0..<60).map { BrokerFixtures.task(BrokerSystem.allCases[$0 % 4], queue: "mixed") }

        let stored = try broker.enqueue(contentsOf: tasks)

        #expect(stored.count == 60)
        for system in BrokerSystem.allCases {
            let key: String
            switch system {
            case .celery: key = "mixed:mixed"
            case .rq: key = "rqmixed:queue:mixed"
            case .dramatiq: key = "dqmixed:mixed"
            case .djangoQ: key = "django_q:mixed:q"
            }
            #expect(try redis.execute(RedisCommand("LLEN", key)) == .integer(15), "\(system.rawValue)")
        }
        let celery = try redis.execute(RedisCommand("LRANGE", "mixed:mixed", 0, -1)).arrayValue ?? []
        // LPUSH puts the newest first.
        #expect(celery.map(\.bytesValue) == stride(from: 56, through: 0, by: -4).map { stored[$0] })
    }

    @Test func bulkEnqueueWithoutDjangoQSecretSendsNothing() throws {
        let server = try suiteServer()
        let broker = try BrokerFixtures.broker(server, prefix: "nosecretbulk") {
            $0.djangoQ.secretKey = nil
            $0.celeryKeyPrefix = "nosecretbulk:"
        }
        let redis = try BrokerFixtures.connection(server)
        let tasks = [BrokerFixtures.task(.celery, queue: "first"), BrokerFixtures.task(.djangoQ, queue: "c")]

        #expect(throws: BrokerError.self) { try broker.enqueue(contentsOf: tasks) }

        #expect(try redis.execute(RedisCommand("LLEN", "nosecretbulk:first")) == .integer(0))
    }

    @Test func emptyBulkEnqueueNeedsNoServer() throws {
        let port = try freeLoopbackPort()
        let broker = RedisBroker(settings: RedisBrokerSettings(url: try RedisURL(parsing: "redis://127.0.0.1:\(port)/0")))
        #expect(try broker.enqueue(contentsOf: []).isEmpty)
    }

    @Test func replayNeedsWriteMode() throws {
        let server = try suiteServer()
        let readOnly = try BrokerFixtures.broker(server, prefix: "ro") { $0.celeryKeyPrefix = "ro:" }
        let task = BrokerFixtures.task(.celery, queue: "replayed")
        let stored = try readOnly.enqueue(task)
        #expect {
            try readOnly.enqueueStored(stored, task: task)
        } throws: { error in
            (error as? BrokerError)?.kind == .readOnly
        }
    }

    @Test(arguments: BrokerSystem.allCases)
    func replaySendsStoredBytesUnchanged(system: BrokerSystem) throws {
        let server = try suiteServer()
        let name = "replay-\(system.rawValue)"
        let broker = try BrokerFixtures.broker(server, prefix: name, writeMode: true) {
            $0.celeryKeyPrefix = name + ":"
            $0.rqKeyPrefix = name
            $0.dramatiqNamespace = name
        }
        let redis = try BrokerFixtures.connection(server)
        let task = BrokerFixtures.task(system, queue: name)
        let stored = try broker.enqueue(task)

        try broker.enqueueStored(stored, task: task)

        switch system {
        case .celery:
            let list = try redis.execute(RedisCommand("LRANGE", "\(name):\(name)", 0, -1))
            #expect(list == .array([.bulk(stored), .bulk(stored)]))
        case .rq:
            let ids = try redis.execute(RedisCommand("LRANGE", "\(name):queue:\(name)", 0, -1)).arrayValue ?? []
            #expect(ids.count == 2)
            let replayID = try #require(ids.last?.stringValue)
            #expect(replayID != ids.first?.stringValue)
            #expect(try redis.execute(RedisCommand("HGET", "\(name):job:\(replayID)", "data")) == .bulk(stored))
        case .dramatiq:
            let redisID = try DramatiqMessage.decode(stored).redisMessageID
            let list = try redis.execute(RedisCommand("LRANGE", "\(name):\(name)", 0, -1))
            #expect(list == .array([.bulk(Array(redisID.utf8)), .bulk(Array(redisID.utf8))]))
            #expect(try redis.execute(RedisCommand("HGET", "\(name):\(name).msgs", redisID)) == .bulk(stored))
        case .djangoQ:
            let list = try redis.execute(RedisCommand("LRANGE", "django_q:\(name):q", 0, -1))
            #expect(list == .array([.bulk(stored), .bulk(stored)]))
        }
    }
}

extension RedisBrokerEnqueueTests {
    @Test func embeddedPayloadIsReencodedOnReplay() throws {
        let server = try suiteServer()
        let name = "from-embedded"
        let broker = try BrokerFixtures.broker(server, prefix: name, writeMode: true) { $0.celeryKeyPrefix = name + ":" }
        let redis = try BrokerFixtures.connection(server)
        let task = BrokerFixtures.task(.celery, queue: name)
        let embeddedBody = EmbeddedMessageCoding.encode(task)

        try broker.enqueueStored(embeddedBody, task: task)

        let list = try redis.execute(RedisCommand("LRANGE", "\(name):\(name)", 0, -1)).arrayValue ?? []
        #expect(list.count == 1)
        let stored = try #require(list.first?.bytesValue)
        #expect(stored != embeddedBody)
        #expect(throws: Never.self) { try CeleryMessage.decode(stored) }
    }
}
