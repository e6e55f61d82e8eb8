import Brokers
import Engine
import Foundation
import Testing

/// Tests of the failed list: requeueing, undecodable bodies, and rules that
/// are gone or changed.
@Suite struct EmbeddedBrokerFailedListTests {
    /// Settings under which a raised failure reaches the failed list on the
    /// first delivery in every system.
    static func failAtOnce() -> EmbeddedBrokerSettings {
        EmbeddedFixtures.settings(celeryMaxRedeliveries: 0, dramatiqMaxRetries: 0)
    }

    static let djangoQSettings = #"{"django_q": {"CLUSTER": "invalidation", "GROUP": "cache"}}"#

    @Test(arguments: BrokerSystem.allCases)
    func requeueKeepsPayloadAndOptions(_ system: BrokerSystem) throws {
        let harness = try BrokerHarness.single(
            system.rawValue, settings: Self.failAtOnce(), dispatcherSettings: Self.djangoQSettings)
        harness.failAll(system.rawValue)
        harness.engine.process(EmbeddedFixtures.productSaved(42))
        #expect(harness.settle())
        let first = try #require(harness.broker.failedMessages(limit: 10).first)
        let journalled = try #require(harness.journalEntries().first)
        #expect(journalled.batch.payload == first.body)

        try harness.broker.requeue(first)
        #expect(harness.settle())
        let again = try #require(harness.broker.failedMessages(limit: 10).first)
        #expect(again.messageID == first.messageID)
        #expect(again.body == first.body)
        #expect(again.options == first.options)
        #expect(again.queue == first.queue)

        harness.clearFaults(system.rawValue)
        try harness.broker.requeue(again)
        #expect(harness.settle())
        #expect(harness.broker.failedMessages(limit: 10).isEmpty)
        let record = try #require(harness.broker.message(id: first.messageID))
        let finalState: BatchState = system == .dramatiq ? .dead : .failed
        #expect(record.states == [.queued, .running, finalState, .queued, .running, finalState, .queued, .running, .done])
        #expect(record.history[3].note == "requeued from the failed list")
        #expect(harness.broker.statistics().first?.requeued == 2)
        let figures = try #require(harness.figures(system.rawValue))
        #expect(figures.dispatched == 3)
        #expect(figures.done == 1)
        #expect(figures.failed == 2)
    }

    @Test func failedMessagesOfOneQueue() throws {
        let rules = [FixtureRule(id: "rq", dispatcher: "django_rq"), FixtureRule(id: "dramatiq", dispatcher: "dramatiq")]
        let harness = try BrokerHarness(configuration: EmbeddedFixtures.configuration(rules), settings: Self.failAtOnce())
        harness.failAll("django_rq")
        harness.failAll("dramatiq")
        for pk in 1...3 { harness.engine.process(EmbeddedFixtures.productSaved(Int64(pk))) }
        #expect(harness.settle())
        #expect(harness.broker.failedMessages(limit: 10).count == 6)

        let rq = harness.broker.failedMessages(system: .rq, queue: "default", limit: 10)
        #expect(rq.count == 3)
        #expect(rq.allSatisfy { $0.system == .rq })
        #expect(rq.allSatisfy { $0.queue == "default" })
        #expect(harness.broker.failedMessages(system: .rq, queue: "default", limit: 2).count == 2)
        #expect(harness.broker.failedMessages(system: .dramatiq, queue: "default", limit: 10).count == 3)
        #expect(harness.broker.failedMessages(system: .rq, queue: "elsewhere", limit: 10).isEmpty)
    }

    @Test func requeueOfUnknownMessageFails() throws {
        let harness = try BrokerHarness.single("django_rq")
        let missing = FailedMessage(system: .rq, queue: "default", messageID: "no-such-job", body: [])

        #expect {
            try harness.broker.requeue(missing)
        } throws: { error in
            (error as? BrokerError)?.kind == .notFound
                && (error as? BrokerError)?.message == "no failed message 'no-such-job' on the embedded queue 'django_rq:default'"
        }
    }

    @Test func undecodableMessageGoesToFailedList() throws {
        let harness = try BrokerHarness.single("celery")
        let dispatcher = try #require(harness.dispatcher(forRule: "product") as? any BrokerDispatcher)
        let task = dispatcher.makeTask(for: TaskMessageGoldenTests.batch(for: dispatcher))
        let garbage = Array("{\"format\": \"pickle\", truncated".utf8)

        try harness.broker.enqueueStored(garbage, task: task)
        #expect(harness.broker.waitUntilIdle(timeout: 10))

        let failed = try #require(harness.broker.failedMessages(limit: 10).first)
        #expect(failed.body == garbage)
        #expect(failed.batch == nil)
        let reason = try #require(failed.undecodableReason)
        #expect(reason.hasPrefix("the body is not JSON"))
        #expect(failed.error == reason)
        #expect(harness.statistics("celery:celery")?.undecodable == 1)
        #expect(harness.broker.message(id: "celery-1")?.states == [.queued, .running, .failed])
    }

    /// A journalled batch whose stored payload is not the embedded format
    /// fails as undecodable when it is replayed, and stays on the failed list.
    @Test func replayOfUndecodablePayloadIsJournalled() throws {
        let harness = try BrokerHarness.single("dramatiq")
        let dispatcher = harness.dispatcher(forRule: "product")
        var batch = TaskMessageGoldenTests.batch(for: dispatcher)
        batch.ruleIDs = ["product"]
        batch.restflowRuleIDs = [1]
        batch.payload = Array(#"{"format":"dispatchtop-embedded/1","system":"dramatiq"}"#.utf8)

        harness.engine.dispatch(batch, via: dispatcher, redeliver: true)
        #expect(harness.settle())

        let entry = try #require(harness.journalEntries().first)
        #expect(entry.error.kind == .undecodable)
        #expect(entry.error.message == "the body's 'queue' member is missing or not a string")
        #expect(entry.deadLettered)
        let failed = try #require(harness.broker.failedMessages(limit: 10).first)
        #expect(failed.body == batch.payload)
        #expect(harness.broker.message(id: "dramatiq-1")?.states == [.queued, .running, .dead])
    }

    /// A payload sent while the rule had other content, consumed after a reload.
    @Test(arguments: [("django_rq", BatchState.failed), ("dramatiq", BatchState.dead)])
    func changedRuleFailsAsRuleMissing(_ dispatcher: String, _ finalState: BatchState) throws {
        let harness = try BrokerHarness.single(dispatcher)
        let before = try ConfigurationLoader.parse(
            EmbeddedFixtures.configuration([
                FixtureRule(id: "product", dispatcher: dispatcher, fieldMapping: #"{"product_id": "id"}"#)
            ]))
        harness.rulesReference.set(try RuleSet.compile(before, registry: harness.registry))
        let key = try harness.seedCacheEntry(function: EmbeddedFixtures.productDetail, arguments: JSONObject([("product_id", 42)]))

        harness.engine.process(EmbeddedFixtures.productSaved(42))
        #expect(harness.settle())

        let entry = try #require(harness.journalEntries().first)
        #expect(entry.error.kind == .ruleMissing)
        #expect(entry.error.ruleID == "product")
        #expect(entry.error.message.contains("rule 'product' has changed since the batch was sent"))
        #expect(try harness.cache.get(key) != nil)
        #expect(harness.broker.message(id: "\(dispatcher)-1")?.states == [.queued, .running, finalState])
        #expect(harness.broker.failedMessages(limit: 10).count == 1)
    }

    @Test func changedRuleWithoutRaiseIsAcknowledged() throws {
        let harness = try BrokerHarness.single("celery", raiseException: false)
        let before = try ConfigurationLoader.parse(
            EmbeddedFixtures.configuration([
                FixtureRule(id: "product", dispatcher: "celery", raiseException: false, fieldMapping: #"{"product_id": "id"}"#)
            ]))
        harness.rulesReference.set(try RuleSet.compile(before, registry: harness.registry))

        harness.engine.process(EmbeddedFixtures.productSaved(42))
        #expect(harness.settle())

        #expect(try harness.journalEntries().first?.error.kind == .ruleMissing)
        #expect(harness.broker.failedMessages(limit: 10).isEmpty)
        #expect(harness.broker.message(id: "celery-1")?.states == [.queued, .running, .failed])
        #expect(harness.statistics("celery:celery")?.acknowledgedFailures == 1)
    }

    /// A message stored with no engine batch, as another producer would
    /// store it, is registered with the engine by its consumer.
    @Test func messageWithoutExecutorIsAdopted() throws {
        let harness = try BrokerHarness.single("dramatiq")
        let dispatcher = try #require(harness.dispatcher(forRule: "product") as? any BrokerDispatcher)
        var batch = TaskMessageGoldenTests.batch(for: dispatcher)
        batch.ruleIDs = ["product"]
        batch.restflowRuleIDs = [1]
        batch.ruleKwargs = JSONObject([("product", ["product_id": 42])])
        let key = try harness.seedCacheEntry(function: EmbeddedFixtures.productDetail, arguments: JSONObject([("product_id", 42)]))

        _ = try harness.broker.enqueue(dispatcher.makeTask(for: batch))
        #expect(harness.broker.waitUntilIdle(timeout: 10))
        #expect(harness.engine.waitUntilIdle(timeout: 10))

        let record = try #require(harness.broker.message(id: "dramatiq-1"))
        #expect(record.states == [.queued, .running, .done])
        #expect(record.batchID != batch.id)
        #expect(try harness.cache.get(key) == nil)
        #expect(harness.figures("dramatiq")?.dispatched == 1)
        #expect(harness.figures("dramatiq")?.done == 1)
    }
}
