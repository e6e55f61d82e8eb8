import Brokers
import Engine
import Foundation
import Testing
import TestSupport

/// Queue depths, starting and stopping consumers, and broker outages.
@Suite struct EmbeddedBrokerLifecycleTests {
    static let celeryQueue = #"{"celery": {"QUEUE": "cache-invalidation"}}"#

    @Test func depthsCountReadyMessagesWhileStopped() throws {
        let harness = try BrokerHarness.single("celery", dispatcherSettings: Self.celeryQueue, startConsumers: false)
        for pk in 1...3 {
            harness.engine.process(EmbeddedFixtures.productSaved(Int64(pk)))
        }

        let depths = harness.broker.depths()
        #expect(depths.map(\.name) == ["celery:cache-invalidation"])
        let depth = try #require(depths.first)
        #expect(depth.source == "embedded")
        #expect(depth.ready == 3)
        #expect(depth.inFlight == 0)
        #expect(depth.delayed == 0)
        #expect(depth.failed == 0)
        #expect(harness.figures("celery")?.queued == 3)
        #expect(harness.broker.status.detail == "consumers stopped")

        harness.broker.start(engine: harness.engine)
        #expect(harness.settle())
        #expect(harness.depth("celery:cache-invalidation")?.ready == 0)
        #expect(harness.figures("celery")?.done == 3)
    }

    @Test func queueProbeFeedsEngineSnapshot() throws {
        let harness = try BrokerHarness.single("django_rq", startConsumers: false)
        harness.engine.process(EmbeddedFixtures.productSaved(1))
        harness.engine.addQueueProbe(BrokerQueueProbe(broker: harness.broker, outboxCount: { 2 }))

        harness.engine.sampleQueues()

        let snapshot = harness.engine.snapshot()
        #expect(snapshot.queues.map(\.depth.name) == ["django_rq:default"])
        #expect(snapshot.queues.first?.depth.ready == 1)
        #expect(snapshot.queues.first?.history == [1])
        #expect(snapshot.brokerStatus == BrokerStatus(label: "embedded", isUp: true, detail: "consumers stopped"))
        #expect(snapshot.outboxWaiting == 2)
    }

    @Test func stopLeavesDelayedRetriesForNextStart() throws {
        let settings = EmbeddedFixtures.settings(dramatiqMaxRetries: 1, dramatiqMinBackoff: 1.5)
        let harness = try BrokerHarness.single("dramatiq", settings: settings)
        harness.failAll("dramatiq")
        harness.engine.process(EmbeddedFixtures.productSaved(42))
        #expect(waitFor(timeout: 5) { harness.depth("dramatiq:default")?.delayed == 1 })

        let started = Date()
        harness.broker.stop()
        #expect(Date().timeIntervalSince(started) < 1)
        #expect(!harness.broker.isRunning)
        #expect(harness.depth("dramatiq:default")?.delayed == 1)

        harness.clearFaults("dramatiq")
        harness.broker.start(engine: harness.engine)
        #expect(harness.settle())
        #expect(harness.broker.message(id: "dramatiq-1")?.states == [.queued, .running, .retrying, .running, .done])
        #expect(harness.figures("dramatiq")?.done == 1)
    }

    /// A Celery warm shutdown puts unacknowledged messages back on their queue.
    @Test func stopRestoresMessagesInFlight() throws {
        let settings = EmbeddedFixtures.settings(visibilityTimeout: 60)
        let harness = try BrokerHarness.single("celery", settings: settings)
        harness.broker.simulateCeleryWorkerLoss(deliveries: 1)
        harness.engine.process(EmbeddedFixtures.productSaved(42))
        #expect(waitFor(timeout: 5) { harness.depth("celery:celery")?.inFlight == 1 })

        harness.broker.stop()
        let depth = try #require(harness.depth("celery:celery"))
        #expect(depth.inFlight == 0)
        #expect(depth.ready == 1)

        harness.broker.start(engine: harness.engine)
        #expect(harness.settle())
        let record = try #require(harness.broker.message(id: "celery-1"))
        #expect(record.states == [.queued, .running, .queued, .running, .done])
        #expect(record.history[2].note == "restored when the consumers stopped")
    }

    @Test func outageHandsBatchToOutbox() throws {
        let harness = try BrokerHarness.single("django_q", useOutbox: true)
        harness.broker.setAvailable(false)

        let result = harness.engine.process(EmbeddedFixtures.productSaved(42))

        #expect(result.raised.isEmpty)
        let handed = harness.outbox.all
        #expect(handed.count == 1)
        #expect(handed.first?.batch.id == result.batchIDs.first)
        #expect(handed.first?.error.kind == .unavailable)
        #expect(try harness.journalEntries().isEmpty)
        #expect(harness.broker.depths().isEmpty)
        #expect(harness.broker.status.isUp == false)
        #expect(harness.figures("django_q")?.queued == 1)
    }

    @Test func outageWithoutOutboxFailsBatch() throws {
        let harness = try BrokerHarness.single("celery")
        harness.broker.setAvailable(false)

        let result = harness.engine.process(EmbeddedFixtures.productSaved(42))
        #expect(harness.engine.waitUntilIdle(timeout: 5))

        let raised = try #require(result.raised.first)
        #expect(raised.kind == .broker)
        #expect(raised.message == "sending to the embedded broker failed: the embedded broker is unavailable (a simulated outage)")
        let entry = try #require(harness.journalEntries().first)
        #expect(entry.error.kind == .broker)
        #expect(entry.batch.payload == nil)
        #expect(harness.figures("celery")?.failed == 1)
    }

    @Test func redeliverSendsStoredPayloadUnchanged() throws {
        let harness = try BrokerHarness.single("django_q", startConsumers: false)
        let dispatcher = harness.dispatcher(forRule: "product")
        var batch = TaskMessageGoldenTests.batch(for: dispatcher)
        let stored = try harness.broker.enqueue(try #require(dispatcher as? any BrokerDispatcher).makeTask(for: batch))
        batch.id = harness.engine.makeBatchID()
        batch.payload = stored

        harness.engine.dispatch(batch, via: dispatcher, redeliver: true)
        harness.failAll("django_q")
        harness.broker.start(engine: harness.engine)
        #expect(harness.settle())

        let failed = harness.broker.failedMessages(limit: 10)
        #expect(failed.count == 2)
        #expect(failed.allSatisfy { $0.body == stored })
    }
}
