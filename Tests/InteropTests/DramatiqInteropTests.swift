import Brokers
import Engine
import Testing

/// dispatchtop's Dramatiq messages, consumed by a real `dramatiq` worker
/// with restflow's actor. The harness retries a failure once, 100 ms to 1 s
/// later, and then dead-letters it.
@Suite(.serialized, .producerCheck(.dramatiq))
struct DramatiqInteropTests {
    @Test func dispatchesFourBatchesAsSent() throws {
        try ProducerCheck.require().expectFourBatchesSent()
    }

    @Test func dramatiqDecodesQueuedMessages() throws {
        try ProducerCheck.require().expectLibraryDecodesQueuedMessages()
    }

    @Test func workerDropsExactlyInvalidatedKeys() throws {
        try ProducerCheck.require().expectExactKeysDropped()
    }

    @Test func deadLetterIsRequeuedAndRunsAgain() throws {
        let check = try ProducerCheck.require()
        try check.expectOneFailureRecorded()
        try #require(check.drained, "\(check.workerLog)")
        let site = check.site
        let reader = try check.broker(writeMode: false)
        let deadLetters = reader.failedMessages(limit: 10)
        try #require(deadLetters.count == 1, "\(deadLetters)")
        let message = deadLetters[0]
        #expect(message.system == .dramatiq)
        #expect(message.queue == "default")
        #expect(message.batch?.ruleIDs == ["supplier-feed-on-supplier"])
        #expect(message.error?.contains(HarnessExpectations.failureText) == true, "\(message.error ?? "no error")")
        // One retry, then the dead letter: two attempts.
        #expect(message.attempts == 2)
        let depth = try #require(check.depth(reader))
        #expect(depth.failed == 1)
        #expect(depth.ready == 0)
        #expect(depth.delayed == 0)

        try check.broker(writeMode: true).requeue(message)
        try expectBackInQueue(check, message: message, reader: reader)

        let worker = try PythonWorker(.dramatiq, site: site)
        defer { worker.kill() }
        let deadAgain = poll(timeout: 60) {
            try site.count(RedisCommand("ZCARD", DramatiqMessage.deadLetterKey("default"))) == 1
                && site.count(RedisCommand("HLEN", DramatiqMessage.messagesKey("default"))) == 0
                && site.count(RedisCommand("HLEN", DramatiqMessage.delayedMessagesKey("default"))) == 0
        }
        let status = worker.stop()
        #expect(deadAgain, "the requeued message was not dead-lettered again within 60 s\n\(worker.log)")
        #expect(status == 0, "\(worker.log)")
        let again = reader.failedMessages(limit: 10)
        #expect(again.count == 1)
        let originalID = try DramatiqMessage.decode(message.body).task.id
        let againID = try again.first.map { try DramatiqMessage.decode($0.body).task.id }
        #expect(againID == originalID, "the same message (message_id) failed again")
    }

    /// Checks that the dead letter is back under its redis_message_id with its
    /// actor, arguments and options as stored. Only the retry bookkeeping is reset.
    private func expectBackInQueue(_ check: ProducerCheck, message: FailedMessage, reader: RedisBroker) throws {
        let site = check.site
        let stored = try DramatiqMessage.decode(message.body)
        #expect(try site.list(DramatiqMessage.queueKey("default")) == [Array(stored.redisMessageID.utf8)])
        #expect(try site.count(RedisCommand("ZCARD", DramatiqMessage.deadLetterKey("default"))) == 0)
        let body = try #require(try site.hashField(DramatiqMessage.messagesKey("default"), stored.redisMessageID))
        let requeued = try #require(try JSONParser.parse(String(decoding: body, as: UTF8.self)).objectValue)

        for key in ["queue_name", "actor_name", "args", "kwargs", "message_id", "message_timestamp"] {
            #expect(requeued[key] == stored.object[key], "\(key) is unchanged")
        }
        let options = requeued["options"]?.objectValue ?? JSONObject()
        let storedOptions = stored.object["options"]?.objectValue ?? JSONObject()
        for member in storedOptions where !["retries", "eta", "requeue_timestamp"].contains(member.key) {
            #expect(options[member.key] == member.value, "option \(member.key) is unchanged")
        }
        #expect(options["retries"] == 0)
        #expect(options["eta"] == nil)
        #expect(options["requeue_timestamp"]?.intValue != nil)
        #expect(check.depth(reader)?.ready == 1)
        #expect(check.depth(reader)?.failed == 0)

        let decoded = try site.brokerState("dramatiq", messages: true)["messages"]?.arrayValue ?? []
        let original = try check.queuedMessages().first { $0["message_id"] == stored.object["message_id"] }
        try #require(decoded.count == 1)
        for key in ["actor", "args", "kwargs", "message_id"] {
            #expect(decoded[0][key] == original?[key], "Dramatiq decodes \(key) as first queued")
        }
    }
}
