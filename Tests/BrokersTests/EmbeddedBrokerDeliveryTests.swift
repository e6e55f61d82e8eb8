import Brokers
import Engine
import Foundation
import Testing
import TestSupport

/// The delivery semantics of each system, run through a real engine.
@Suite struct EmbeddedBrokerDeliveryTests {
    static let product42 = JSONObject([("product_id", 42)])

    @Test(arguments: BrokerSystem.allCases)
    func successfulBatchIsAcknowledged(_ system: BrokerSystem) throws {
        let harness = try BrokerHarness.single(system.rawValue)
        let key = try harness.seedCacheEntry(function: EmbeddedFixtures.productDetail, arguments: Self.product42)

        harness.engine.process(EmbeddedFixtures.productSaved(42))
        #expect(harness.settle())

        let record = try #require(harness.broker.message(id: "\(system.rawValue)-1"))
        #expect(record.states == [.queued, .running, .done])
        #expect(!record.isStored)
        #expect(try harness.cache.get(key) == nil)
        #expect(harness.broker.failedMessages(limit: 10).isEmpty)
        let statistics = try #require(harness.broker.statistics().first)
        let queue = system == .celery ? "celery" : "default"
        #expect(statistics.name == "\(system.rawValue):\(queue)")
        #expect(statistics.acknowledged == 1)
        #expect(statistics.delivered == 1)
        #expect(harness.figures(system.rawValue)?.done == 1)
        #expect(try harness.journalEntries().isEmpty)
    }

    @Test func celeryRedeliversUntilLimitThenFails() throws {
        let harness = try BrokerHarness.single("celery", settings: EmbeddedFixtures.settings(celeryMaxRedeliveries: 2))
        harness.failAll("celery")

        harness.engine.process(EmbeddedFixtures.productSaved(42))
        #expect(harness.settle())

        let record = try #require(harness.broker.message(id: "celery-1"))
        #expect(record.states == [.queued, .running, .retrying, .running, .retrying, .running, .failed])
        #expect(record.deliveries == 3)
        #expect(record.isStored)
        let failed = harness.broker.failedMessages(limit: 10)
        #expect(failed.count == 1)
        #expect(failed.first?.queue == "celery")
        #expect(failed.first?.attempts == 3)
        let statistics = try #require(harness.statistics("celery:celery"))
        #expect(statistics.delivered == 3)
        #expect(statistics.retried == 2)
        #expect(statistics.failed == 1)
        #expect(statistics.deadLettered == 0)
        let entries = try harness.journalEntries()
        #expect(entries.count == 1)
        #expect(entries.first?.attempts == 3)
        #expect(entries.first?.status == .open)
        #expect(entries.first?.error.kind == .fault)
        #expect(entries.first?.deadLettered == false)
        let figures = try #require(harness.figures("celery"))
        #expect(figures.retried == 2)
        #expect(figures.failed == 1)
        #expect(figures.done == 0)
    }

    @Test func celeryRedeliversAfterVisibilityTimeout() throws {
        let harness = try BrokerHarness.single("celery", settings: EmbeddedFixtures.settings(visibilityTimeout: 0.2))
        let key = try harness.seedCacheEntry(function: EmbeddedFixtures.productDetail, arguments: Self.product42)
        harness.broker.simulateCeleryWorkerLoss(deliveries: 1)

        harness.engine.process(EmbeddedFixtures.productSaved(42))
        #expect(harness.settle())

        let record = try #require(harness.broker.message(id: "celery-1"))
        #expect(record.states == [.queued, .running, .retrying, .running, .done])
        let lostAt = try #require(record.history.dropFirst(1).first?.at)
        let returnedAt = try #require(record.history.dropFirst(2).first?.at)
        #expect(returnedAt - lostAt >= 0.2)
        #expect(record.history[2].note?.contains("not acknowledged within 0.2 s") == true)
        #expect(try harness.cache.get(key) == nil)
        let statistics = try #require(harness.statistics("celery:celery"))
        #expect(statistics.workerLosses == 1)
        #expect(statistics.expired == 1)
        #expect(statistics.acknowledged == 1)
        #expect(harness.figures("celery")?.retried == 1)
        #expect(harness.figures("celery")?.done == 1)
        #expect(try harness.journalEntries().isEmpty)
    }

    /// A batch running past the visibility timeout keeps its message, so it
    /// runs once and is reported once.
    @Test func slowCeleryBatchIsNotRedelivered() throws {
        let harness = try BrokerHarness.single("celery", settings: EmbeddedFixtures.settings(visibilityTimeout: 0.05))
        harness.engine.faults.set(FaultSetting(failurePercent: 0, addedLatencyMilliseconds: 300), for: "celery")

        harness.engine.process(EmbeddedFixtures.productSaved(42))
        #expect(harness.settle())

        #expect(harness.broker.message(id: "celery-1")?.states == [.queued, .running, .done])
        #expect(harness.statistics("celery:celery")?.expired == 0)
        #expect(harness.statistics("celery:celery")?.delivered == 1)
        #expect(harness.figures("celery")?.done == 1)
    }

    @Test func celeryMessageLostTooOftenFails() throws {
        let settings = EmbeddedFixtures.settings(visibilityTimeout: 0.05, celeryMaxRedeliveries: 0)
        let harness = try BrokerHarness.single("celery", settings: settings)
        harness.broker.simulateCeleryWorkerLoss(deliveries: 1)

        harness.engine.process(EmbeddedFixtures.productSaved(42))
        #expect(harness.settle())

        let record = try #require(harness.broker.message(id: "celery-1"))
        #expect(record.states == [.queued, .running, .failed])
        let entries = try harness.journalEntries()
        #expect(entries.count == 1)
        #expect(entries.first?.error.kind == .worker)
        #expect(entries.first?.error.message.contains("not acknowledged") == true)
        #expect(harness.depth("celery:celery")?.failed == 1)
    }

    @Test func rqMovesFailingJobToFailedRegistry() throws {
        let harness = try BrokerHarness.single("django_rq")
        harness.failAll("django_rq")

        harness.engine.process(EmbeddedFixtures.productSaved(42))
        #expect(harness.settle())

        let record = try #require(harness.broker.message(id: "django_rq-1"))
        #expect(record.states == [.queued, .running, .failed])
        #expect(record.deliveries == 1)
        let failed = try #require(harness.broker.failedMessages(limit: 10).first)
        #expect(failed.system == .rq)
        #expect(failed.queue == "default")
        #expect(failed.error?.contains("injected fault") == true)
        let depth = try #require(harness.depth("django_rq:default"))
        #expect(depth.ready == 0)
        #expect(depth.inFlight == 0)
        #expect(depth.failed == 1)
        #expect(harness.statistics("django_rq:default")?.retried == 0)
        let entries = try harness.journalEntries()
        #expect(entries.count == 1)
        #expect(entries.first?.attempts == 1)
        #expect(entries.first?.batch.payload == failed.body)
    }

    @Test func dramatiqRetriesWithBackoffThenDeadLetters() throws {
        let settings = EmbeddedFixtures.settings(dramatiqMaxRetries: 2, dramatiqMinBackoff: 0.1)
        let harness = try BrokerHarness.single("dramatiq", settings: settings)
        harness.failAll("dramatiq")

        let result = harness.engine.process(EmbeddedFixtures.productSaved(42))
        let sawDelayed = waitFor(timeout: 5) { harness.depth("dramatiq:default")?.delayed == 1 }
        #expect(sawDelayed)
        #expect(harness.settle())

        let record = try #require(harness.broker.message(id: "dramatiq-1"))
        #expect(record.states == [.queued, .running, .retrying, .running, .retrying, .running, .dead])
        let history = record.history
        #expect(history[3].at - history[2].at >= 0.1)
        #expect(history[5].at - history[4].at >= 0.2)
        #expect(history[2].note?.hasPrefix("delivered again in 100 ms") == true)
        #expect(history[4].note?.hasPrefix("delivered again in 200 ms") == true)
        let depth = try #require(harness.depth("dramatiq:default"))
        #expect(depth.delayed == 0)
        #expect(depth.failed == 1)
        let statistics = try #require(harness.statistics("dramatiq:default"))
        #expect(statistics.retried == 2)
        #expect(statistics.deadLettered == 1)
        let entries = try harness.journalEntries()
        #expect(entries.count == 1)
        #expect(entries.first?.deadLettered == true)
        #expect(entries.first?.attempts == 3)
        #expect(entries.first?.status == .open)
        let batchID = try #require(result.batchIDs.first)
        #expect(harness.engine.snapshot().liveBatches.first { $0.id == batchID }?.state == .dead)
        #expect(harness.figures("dramatiq")?.deadLettered == 1)
    }

    @Test func djangoQRecordsFailureWithGroupAndCluster() throws {
        let harness = try BrokerHarness.single(
            "django_q", dispatcherSettings: #"{"django_q": {"CLUSTER": "invalidation", "GROUP": "cache"}}"#)
        harness.failAll("django_q")

        harness.engine.process(EmbeddedFixtures.productSaved(42))
        #expect(harness.settle())

        let record = try #require(harness.broker.message(id: "django_q-1"))
        #expect(record.states == [.queued, .running, .failed])
        let failed = try #require(harness.broker.failedMessages(limit: 10).first)
        #expect(failed.system == .djangoQ)
        #expect(failed.queue == "invalidation")
        #expect(failed.options == JSONObject([("cluster", "invalidation"), ("group", "cache")]))
        #expect(harness.depth("django_q:invalidation")?.failed == 1)
        #expect(try harness.journalEntries().count == 1)
    }

    /// With `raise_exception` false a failure is journalled and the message
    /// acknowledged: no retry, no failed list.
    @Test(arguments: BrokerSystem.allCases)
    func failureWithoutRaiseIsAcknowledged(_ system: BrokerSystem) throws {
        let harness = try BrokerHarness.single(system.rawValue, raiseException: false)
        harness.failAll(system.rawValue)

        let result = harness.engine.process(EmbeddedFixtures.productSaved(42))
        #expect(harness.settle())

        #expect(result.raised.isEmpty)
        let record = try #require(harness.broker.message(id: "\(system.rawValue)-1"))
        #expect(record.states == [.queued, .running, .failed])
        #expect(!record.isStored)
        #expect(harness.broker.failedMessages(limit: 10).isEmpty)
        let statistics = try #require(harness.broker.statistics().first)
        #expect(statistics.acknowledgedFailures == 1)
        #expect(statistics.retried == 0)
        #expect(statistics.failed == 0)
        let entries = try harness.journalEntries()
        #expect(entries.count == 1)
        #expect(entries.first?.attempts == 1)
        #expect(entries.first?.error.kind == .fault)
    }
}
