import Engine
import Testing

@testable import Brokers

@Suite struct RQJobTests {
    /// 2026-12-04T15:29:30.514714Z in microseconds.
    static let enqueuedAt: Int64 = 1_796_398_170_514_714

    @Test func pickledCallMatchesGolden() {
        let call = RQJob.serializedCall(WireFixtures.rqTask, serializer: .pickle)
        #expect(WireFixtures.hex(call) == WireFixtures.hex(WireFixtures.bytes(hex: PickleEncoderTests.rqJobTuple)))
    }

    /// Python's `zlib.compress` of the pickled call, as RQ stores it in `data`.
    @Test func dataIsZlibOfPickle() {
        let data = RQJob.data(WireFixtures.rqTask, serializer: .pickle)
        let python = """
            789c1dccb10e02210c80610e5d9c7c0b431c48f435489c590ca958f13ce4ee288d938993cf6dcfe96fbfa4fd68e3774aa98ad46e79
            7cd908f1de97641bd040b672098b60a89c914e67e33aa7f16d7c274707a9964e83dbf35f8e226b29654e7e25035c22f357742bcbb5
            a7099a7caba1c013fd66b1079434863a73b33f5ec228aa
            """
        #expect(WireFixtures.hex(data) == WireFixtures.hex(WireFixtures.bytes(hex: python)))
    }

    @Test func jsonSerializerMatchesPython() throws {
        let call = RQJob.serializedCall(WireFixtures.rqTask, serializer: .json)
        let expected = """
            ["restflow.caching.tasks.run_cache_rules", null, [[1, 2], {"1": {"pk": 42}, "2": {"slug": "abc"}}], \
            {"dispatcher_name": "django_rq"}]
            """
        #expect(String(decoding: call, as: UTF8.self) == expected)
        let decoded = try RQJob.decode(id: "j", data: Zlib.compress(call), origin: "default")
        #expect(decoded.args == WireFixtures.rqTask.args)
        #expect(decoded.kwargs == WireFixtures.rqTask.kwargs)
    }

    @Test func hashFieldsMatchGolden() {
        let fields = RQJob.fields(WireFixtures.rqTask, data: [0x78, 0x9C], enqueuedAt: Self.enqueuedAt)
        let text = fields.map { "\($0.0)=\(String(decoding: $0.1, as: UTF8.self))" }
        #expect(
            text == [
                "status=queued", "origin=default", "enqueued_at=2026-12-04T15:29:30.514714Z", "data=x\u{FFFD}",
                "ended_at=", "last_heartbeat=", "created_at=2026-12-04T15:29:30.514714Z", "group_id=", "started_at=",
                "worker_name=", "timeout=180", "failure_callback_name=", "stopped_callback_name=",
                "success_callback_name=",
                "description=restflow.caching.tasks.run_cache_rules([1, 2], {'1': {'pk': 42}, '2': {'slug': 'abc'}}, dispatcher_name='django_rq')",
            ])
        #expect(fields[3].1 == [0x78, 0x9C])
    }

    @Test func enqueueCommandsMatchGolden() {
        let commands = RQJob.enqueueCommands(jobID: "J1", queue: "default", fields: [("data", [1]), ("origin", Array("default".utf8))])
        #expect(commands.map(\.description) == [
            "SADD rq:queues rq:queue:default",
            "HSET rq:job:J1 data <1 bytes> origin default",
            "RPUSH rq:queue:default J1",
        ])
    }

    @Test func queuedJobWritesFieldsAsHSET() {
        let job = RQJob.queuedJob(
            WireFixtures.rqTask, data: [0x78, 0x9C], enqueuedAt: Self.enqueuedAt, timeout: 60, jobID: "J1",
            keyPrefix: "rqx")
        let fields = RQJob.fields(WireFixtures.rqTask, data: [0x78, 0x9C], enqueuedAt: Self.enqueuedAt, timeout: 60)
        let expected = [Array("HSET".utf8), Array("rqx:job:J1".utf8)] + fields.flatMap { [Array($0.0.utf8), $0.1] }

        #expect(job.hset.arguments == expected)
        #expect(job.hset == RedisCommand(arguments: expected))
        #expect(job.id == Array("J1".utf8))
        #expect(job.queueKey == Array("rqx:queue:default".utf8))
    }

    @Test func enqueueManyCommandsGroupByQueue() {
        let jobs = ["J1", "J2", "J3", "J4"].enumerated().map { index, id in
            RQJob.queuedJob(jobID: id, queue: index == 1 ? "low" : "default", fields: [("data", [UInt8(index)])])
        }

        let commands = RQJob.enqueueManyCommands(jobs)

        #expect(commands.map(\.command.description) == [
            "HSET rq:job:J1 data <1 bytes>", "HSET rq:job:J2 data <1 bytes>", "HSET rq:job:J3 data <1 bytes>",
            "HSET rq:job:J4 data <1 bytes>", "RPUSH rq:queue:default J1 J3 J4", "RPUSH rq:queue:low J2",
            "SADD rq:queues rq:queue:default", "SADD rq:queues rq:queue:low",
        ])
        #expect(commands.map(\.jobs) == [[0], [1], [2], [3], [0, 2, 3], [1], [0, 2, 3], [1]])
    }

    @Test func requeueCommandsMatchGolden() {
        let commands = RQJob.requeueCommands(jobID: "J1", queue: "low", enqueuedAt: Self.enqueuedAt, keyPrefix: "rqx")
        #expect(commands.map(\.description) == [
            "ZREM rqx:failed:low J1",
            "HSET rqx:job:J1 status queued started_at  ended_at  enqueued_at 2026-12-04T15:29:30.514714Z",
            "SADD rqx:queues rqx:queue:low",
            "RPUSH rqx:queue:low J1",
        ])
    }

    @Test func decodesPickledData() throws {
        let data = RQJob.data(WireFixtures.rqTask, serializer: .pickle)
        let decoded = try RQJob.decode(id: "J1", data: data, origin: "default")
        #expect(decoded.system == .rq)
        #expect(decoded.taskName == "restflow.caching.tasks.run_cache_rules")
        #expect(decoded.args == WireFixtures.rqTask.args)
        #expect(decoded.kwargs == WireFixtures.rqTask.kwargs)
        #expect(decoded.queue == "default")
    }

    @Test func parsesRQTimes() {
        #expect(RQJob.parseTime("2026-12-04T15:29:30.514714Z") == 1_796_398_170.514714)
        #expect(RQJob.parseTime("2026-12-04T15:29:30Z") == 1_796_398_170)
        #expect(RQJob.parseTime("2026-12-04") == nil)
        #expect(RQJob.parseTime("") == nil)
    }

    @Test func parsesDjangoSQLiteTimes() {
        #expect(TimeText.parse("2026-12-04 15:29:30.5") == 1_796_398_170.5)
        #expect(TimeText.parse("2026-12-04 15:29:30+00:00") == 1_796_398_170)
        #expect(TimeText.parse("2026-12-04T10:29:30.000001-05:00") == 1_796_398_170.000001)
        #expect(TimeText.parse("2026-12-04 15:29:30.1234567") == nil)
        #expect(TimeText.parse("2026-12-04 15:29") == nil)
    }

    @Test func errorTextInflatesExcString() {
        let traceback = "Traceback (most recent call last):\nRuntimeError: boom"
        let stored = Array(Base64Text.encode(Zlib.compress(Array(traceback.utf8))).utf8)
        #expect(RQJob.errorText(excString: stored) == traceback)
        #expect(RQJob.errorText(excString: Array("plain text".utf8)) == "plain text")
    }
}
