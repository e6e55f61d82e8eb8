import Engine
import Testing
import TestSupport

@testable import Brokers

/// django-q2 failures, read from a SQLite Django database laid out as
/// django-q2 1.11's `django_q_task` table, with the pickled columns as
/// django-picklefield stores them (base64 of a pickle).
@Suite(.redisServer()) struct RedisDjangoQFailureTests {
    /// Python's `base64.b64encode(pickle.dumps(([1, 2], {...}), protocol=5))`.
    static let pythonArgs = "gAWVMQAAAAAAAABdlChLAUsCZX2UKIwBMZR9lIwCcGuUSypzjAEylH2UjARzbHVnlIwDYWJjlHN1hpQu"
    /// The same for the failure text django-q2 stores as the result.
    static let pythonResult = """
        gAWVVQAAAAAAAACMUVJ1bnRpbWVFcnJvcignY2FjaGUgc3RvcmUgdGltZWQgb3V0JykgOiBUcmFjZWJhY2sgKG1vc3QgcmVjZW50IGNhbGwg\
        bGFzdCk6CiAgYm9vbZQu
        """

    private func database(_ folder: TemporaryDirectory) throws -> String {
        let path = folder.file("django.sqlite3")
        let task = BrokerFixtures.task(.djangoQ, queue: "fq")
        let kwargs = Base64Text.encode(PickleEncoder.encode(PickleValue(json: .object(task.kwargs))))
        let created = try ProcessRunner.run([
            "sqlite3", path,
            """
            CREATE TABLE django_q_task (id varchar(32) NOT NULL PRIMARY KEY, name varchar(100) NOT NULL,
                func varchar(256) NOT NULL, hook varchar(256) NULL, args text NULL, kwargs text NULL, result text NULL,
                started datetime NOT NULL, stopped datetime NOT NULL, success bool NOT NULL, "group" varchar(100) NULL,
                attempt_count integer NOT NULL, cluster varchar(100) NULL);
            INSERT INTO django_q_task VALUES ('0123456789abcdef0123456789abcdef', 'dispatchtop-012345678901',
                'restflow.caching.tasks.run_cache_rules', NULL, '\(Self.pythonArgs)', '\(kwargs)', '\(Self.pythonResult)',
                '2026-12-04 15:00:00', '2026-12-04 15:00:01.250000', 0, 'cache', 2, 'fq');
            INSERT INTO django_q_task VALUES ('ffffffffffffffffffffffffffffffff', 'ok', 'f', NULL, NULL, NULL, NULL,
                '2026-12-04 15:00:00', '2026-12-04 15:00:02', 1, NULL, 1, 'fq');
            """,
        ])
        #expect(created.status == 0, "sqlite3 failed: \(created.stderr)")
        return path
    }

    @Test func listsFailedRows() throws {
        let server = try suiteServer()
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let path = try database(folder)
        let broker = try BrokerFixtures.broker(server, prefix: "fq") { $0.djangoQ.databasePath = path }

        let failures = broker.failedMessages(limit: 10)

        let failure = try #require(failures.first)
        #expect(failures.count == 1)
        #expect(failure.system == .djangoQ)
        #expect(failure.queue == "fq")
        #expect(failure.messageID == "0123456789abcdef0123456789abcdef")
        #expect(failure.error?.hasPrefix("RuntimeError('cache store timed out') : Traceback") == true)
        #expect(failure.failedAt == BrokerFixtures.now + 1.25)
        #expect(failure.attempts == 2)
        #expect(failure.batch == WireFixtures.batch)
        #expect(failure.undecodableReason == nil)
    }

    @Test func requeueSendsSameIDAndArguments() throws {
        let server = try suiteServer()
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let path = try database(folder)
        let broker = try BrokerFixtures.broker(server, prefix: "rfq", writeMode: true) { $0.djangoQ.databasePath = path }
        let failure = try #require(broker.failedMessages(limit: 10).first)

        try broker.requeue(failure)

        let redis = try BrokerFixtures.connection(server)
        let packages = try redis.execute(RedisCommand("LRANGE", "django_q:fq:q", 0, -1)).arrayValue ?? []
        #expect(packages.count == 1)
        let package = try #require(packages.first?.stringValue)
        let signer = DjangoSigner(secret: "wire-test-secret-key", salt: "wireq")
        let dict = try DjangoQPackage.unpack(package, signer: signer)
        #expect(dict["id"] == .string("0123456789abcdef0123456789abcdef"))
        #expect(dict["name"] == .string("dispatchtop-012345678901"))
        #expect(dict["args"] == .tuple([.list([.int(1), .int(2)]), PickleValue(json: WireFixtures.ruleKwargs)]))
        #expect(dict["group"] == .string("cache"))
        #expect(dict["cluster"] == .string("fq"))
        let task = try DjangoQPackage.decode(taskDict: dict)
        #expect(task.enqueuedAt == BrokerFixtures.now)
        #expect(try TaskPayload.batch(from: task) == WireFixtures.batch)
    }

    @Test func requeueOfSucceededTaskIsNotFound() throws {
        let server = try suiteServer()
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let path = try database(folder)
        let broker = try BrokerFixtures.broker(server, prefix: "nfq", writeMode: true) { $0.djangoQ.databasePath = path }
        let succeeded = FailedMessage(system: .djangoQ, queue: "fq", messageID: "ffffffffffffffffffffffffffffffff", body: [])
        #expect {
            try broker.requeue(succeeded)
        } throws: { error in
            (error as? BrokerError)?.kind == .notFound
        }
    }
}
