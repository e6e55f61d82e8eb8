import Engine
import Testing

@testable import Brokers

@Suite struct DramatiqMessageTests {
    static let stamp = DramatiqMessage.Stamp(messageID: "MID1", redisMessageID: "RID1", timestampMillis: 1_796_396_400_123)

    @Test func messageMatchesGolden() {
        let encoded = DramatiqMessage.encode(WireFixtures.dramatiqTask, stamp: Self.stamp)
        let python = """
            {"queue_name":"default","actor_name":"restflow.task_run_cache_rules","args":[[1,2],{"1":{"pk":42},"2":\
            {"slug":"abc"}}],"kwargs":{},"options":{"queue_name":"default","redis_message_id":"RID1"},\
            "message_id":"MID1","message_timestamp":1796396400123}
            """
        #expect(String(decoding: encoded, as: UTF8.self) == python)
    }

    @Test func taskOptionsComeFirst() throws {
        var task = WireFixtures.dramatiqTask
        task.options = WireFixtures.object(["queue_name": "cache-invalidation", "max_retries": 3])
        let stored = try DramatiqMessage.decode(DramatiqMessage.encode(task, stamp: Self.stamp))
        #expect(stored.task.options.keys == ["queue_name", "max_retries", "redis_message_id"])
        #expect(stored.task.options["queue_name"] == "cache-invalidation")
        #expect(stored.queueName == "default")
    }

    @Test func enqueueCommandsMatchGolden() {
        let commands = DramatiqMessage.enqueueCommands(queue: "default", redisMessageID: "RID1", message: Array("{}".utf8))
        #expect(commands.map(\.description) == ["HSET dramatiq:default.msgs RID1 {}", "RPUSH dramatiq:default RID1"])
    }

    @Test func decodesStoredMessage() throws {
        let stored = try DramatiqMessage.decode(DramatiqMessage.encode(WireFixtures.dramatiqTask, stamp: Self.stamp))
        #expect(stored.redisMessageID == "RID1")
        #expect(stored.task.id == "MID1")
        #expect(stored.task.taskName == "restflow.task_run_cache_rules")
        #expect(stored.task.args == WireFixtures.dramatiqTask.args)
        #expect(stored.task.enqueuedAt == 1_796_396_400.123)
    }

    @Test func requeueResetsRetriesAndRecordsIt() throws {
        let deadLetter = """
            {"queue_name":"default.DQ","actor_name":"a","args":["x"],"kwargs":{},"options":{"redis_message_id":"RID9",\
            "retries":20,"traceback":"Traceback ...","eta":1796396400000,"max_retries":20},"message_id":"M9",\
            "message_timestamp":1796396000000}
            """
        let stored = try DramatiqMessage.decode(Array(deadLetter.utf8))
        let requeued = DramatiqMessage.requeued(stored, atMillis: 1_796_396_500_000)
        let expected = """
            {"queue_name":"default","actor_name":"a","args":["x"],"kwargs":{},"options":{"redis_message_id":"RID9",\
            "retries":0,"traceback":"Traceback ...","max_retries":20,"requeue_timestamp":1796396500000},\
            "message_id":"M9","message_timestamp":1796396000000}
            """
        #expect(String(decoding: requeued, as: UTF8.self) == expected)
    }

    @Test func rejectsMessageWithoutRedisMessageID() {
        #expect {
            try DramatiqMessage.decode(Array(#"{"queue_name":"q","actor_name":"a","args":[],"options":{}}"#.utf8))
        } throws: { error in
            (error as? WireFormatError)?.message.contains("redis_message_id") == true
        }
    }
}
