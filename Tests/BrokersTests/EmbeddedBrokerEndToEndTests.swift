import Brokers
import Engine
import Foundation
import Testing

/// Events through a real engine with every broker dispatcher on the
/// embedded broker, a memory cache store and a journal on disk. A fault on
/// the Dramatiq consumers leads to retries and dead letters, and a replay
/// of the journalled batches then succeeds.
@Suite struct EmbeddedBrokerEndToEndTests {
    static let rules = [
        FixtureRule(id: "product-celery", dispatcher: "celery"),
        FixtureRule(id: "product-rq", dispatcher: "django_rq"),
        FixtureRule(id: "product-q", dispatcher: "django_q"),
        FixtureRule(
            id: "category-dramatiq", dispatcher: "dramatiq", function: EmbeddedFixtures.categoryPage,
            fieldMapping: #"{"category_id": "category.id"}"#),
    ]

    @Test func faultOnOneConsumerThenReplay() throws {
        let settings = EmbeddedFixtures.settings(dramatiqMaxRetries: 2, dramatiqMinBackoff: 0.02)
        let harness = try BrokerHarness(
            configuration: EmbeddedFixtures.configuration(Self.rules, dispatcherSettings: TaskMessageGoldenTests.settingsBlocks),
            settings: settings)
        var productKeys: [String] = []
        var categoryKeys: [String] = []
        for pk in Int64(1)...3 {
            productKeys.append(try harness.seedCacheEntry(function: EmbeddedFixtures.productDetail, arguments: JSONObject([("product_id", .int(pk))])))
            categoryKeys.append(try harness.seedCacheEntry(function: EmbeddedFixtures.categoryPage, arguments: JSONObject([("category_id", .int(10 + pk))])))
        }
        harness.failAll("dramatiq")

        for pk in Int64(1)...3 {
            let result = harness.engine.process(EmbeddedFixtures.productSaved(pk, category: 10 + pk), index: Int(pk - 1))
            #expect(result.batchIDs.count == 4)
        }
        #expect(harness.settle())

        for key in productKeys {
            #expect(try harness.cache.get(key) == nil, "\(key)")
        }
        for key in categoryKeys {
            #expect(try harness.cache.get(key) != nil, "\(key)")
        }
        for name in ["celery", "django_rq", "django_q"] {
            #expect(harness.figures(name)?.done == 3, "\(name)")
        }
        let dramatiq = try #require(harness.figures("dramatiq"))
        #expect(dramatiq.deadLettered == 3)
        #expect(dramatiq.done == 0)
        let statistics = try #require(harness.statistics("dramatiq:cache-invalidation"))
        #expect(statistics.delivered == 9)
        #expect(statistics.retried == 6)
        #expect(statistics.deadLettered == 3)
        let deadLetters = harness.broker.failedMessages(limit: 10)
        #expect(deadLetters.count == 3)
        #expect(harness.depth("dramatiq:cache-invalidation")?.failed == 3)
        for id in ["dramatiq-1", "dramatiq-2", "dramatiq-3"] {
            let states = harness.broker.message(id: id)?.states
            #expect(states == [.queued, .running, .retrying, .running, .retrying, .running, .dead], "\(id)")
        }

        let entries = try harness.journalEntries()
        #expect(entries.count == 3)
        for entry in entries {
            #expect(entry.batch.dispatcher == "dramatiq")
            #expect(entry.deadLettered)
            #expect(entry.attempts == 3)
            #expect(entry.error.kind == .fault)
            #expect(deadLetters.contains { $0.body == entry.batch.payload })
        }

        harness.clearFaults("dramatiq")
        for entry in entries {
            try Self.replay(entry, in: harness.engine)
        }
        #expect(harness.settle())

        for key in categoryKeys {
            #expect(try harness.cache.get(key) == nil, "\(key)")
        }
        let resolved = try harness.journalEntries()
        #expect(resolved.allSatisfy { $0.status == .resolved })
        #expect(resolved.allSatisfy { $0.resolution == "replay" })
        let replayed = try #require(harness.figures("dramatiq"))
        #expect(replayed.replayed == 3)
        #expect(replayed.done == 3)
        for id in ["dramatiq-4", "dramatiq-5", "dramatiq-6"] {
            #expect(harness.broker.message(id: id)?.states == [.queued, .running, .done], "\(id)")
        }
    }

    /// Replays a journal entry the way the engine's replayer does: a new
    /// batch of the entry's dispatcher, rebuilt from its journalled options,
    /// sending the stored payload.
    static func replay(_ entry: FailureRecord, in engine: Engine) throws {
        let name = entry.batch.dispatcher
        let options = DispatcherOptions(
            dispatcher: name, values: entry.batch.options, globalRaiseException: engine.rules.configuration.settings.raiseException)
        let dispatcher = try engine.registry.make(name, options: options)
        var batch = entry.batch
        batch.id = engine.makeBatchID()
        batch.replayOf = entry.id
        batch.attempt = 1
        batch.createdAt = engine.executor.now
        #expect(batch.payload != nil)
        engine.dispatch(batch, via: dispatcher, redeliver: true)
    }
}
