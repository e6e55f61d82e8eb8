import Brokers
import Engine
import Testing

/// dispatchtop's Celery messages, consumed by a real Celery worker
/// (`celery worker -P solo`) running restflow's task.
@Suite(.serialized, .producerCheck(.celery))
struct CeleryInteropTests {
    @Test func dispatchesFourBatchesAsSent() throws {
        try ProducerCheck.require().expectFourBatchesSent()
    }

    @Test func kombuDecodesQueuedMessages() throws {
        try ProducerCheck.require().expectLibraryDecodesQueuedMessages()
    }

    @Test func workerDropsExactlyInvalidatedKeys() throws {
        try ProducerCheck.require().expectExactKeysDropped()
    }

    @Test func resultBackendRecordsFailingRule() throws {
        let check = try ProducerCheck.require()
        try check.expectOneFailureRecorded()
        let failure = try #require(try check.stateAfterWorker.get()["failed"]?.arrayValue?.first)
        #expect(failure["error_type"]?.stringValue == "SupplierFeedUnavailable")
        #expect(failure["queue"]?.stringValue == "cache-invalidation")
    }

    /// Celery keeps a failed task only in its result backend, so the probes
    /// list no Celery failures and a requeue is refused with the reason.
    @Test func failedTaskIsNotRequeueable() throws {
        let check = try ProducerCheck.require()
        try #require(check.drained, "\(check.workerLog)")
        let broker = try check.broker(writeMode: true)
        #expect(broker.failedMessages(limit: 10).isEmpty)

        let depth = try #require(check.depth(broker))
        #expect(depth.ready == 0)
        #expect(depth.inFlight == 0)
        #expect(depth.note?.contains("result backend") == true)

        let taskID = try check.stateAfterWorker.get()["failed"]?.arrayValue?.first?["id"]?.stringValue ?? ""
        let failed = FailedMessage(system: .celery, queue: check.system.queue, messageID: taskID, body: [])
        let error = #expect(throws: BrokerError.self) { try broker.requeue(failed) }
        #expect(error?.kind == .notFound)
        #expect(error?.message.contains("result backend") == true)
    }
}
