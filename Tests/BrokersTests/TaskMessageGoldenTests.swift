import Brokers
import Engine
import Foundation
import Testing

/// The exact task message each broker dispatcher builds for one fixed batch,
/// as the embedded broker stores it.
@Suite struct TaskMessageGoldenTests {
    static let settingsBlocks = """
        {"celery": {"QUEUE": "cache-invalidation"}, "django_rq": {"QUEUE": "high"},
         "django_q": {"CLUSTER": "invalidation", "GROUP": "cache"}, "dramatiq": {"QUEUE": "cache-invalidation"}}
        """

    /// Builds a harness whose two rules use `dispatcher`: `product-detail`
    /// (restflow id 1) and `category-page` (restflow id 2).
    static func harness(_ dispatcher: String) throws -> BrokerHarness {
        let configuration = EmbeddedFixtures.configuration(
            [
                FixtureRule(id: "product-detail", dispatcher: dispatcher),
                FixtureRule(
                    id: "category-page", dispatcher: dispatcher, function: EmbeddedFixtures.categoryPage,
                    fieldMapping: #"{"category_id": "category.id"}"#),
            ], dispatcherSettings: settingsBlocks)
        return try BrokerHarness(configuration: configuration, startConsumers: false)
    }

    /// Batch 17 from event 3: product 42 saved, with both rules and fixed times.
    static func batch(for dispatcher: any Dispatcher) -> Batch {
        let kwargs = JSONObject([
            ("product-detail", ["product_id": 42]),
            ("category-page", ["category_id": 7, "slug": "garden-tools"]),
        ])
        return Batch(
            id: 17, dispatcher: dispatcher.name, batchKey: dispatcher.batchKey, model: "shop.Product", pk: 42,
            signal: .postSave, eventIndex: 3, ruleIDs: ["product-detail", "category-page"], restflowRuleIDs: [1, 2],
            ruleKwargs: kwargs, options: dispatcher.resolvedOptions, raiseException: true, createdAt: 1_796_396_400.25)
    }

    static func task(_ dispatcherName: String) throws -> (TaskMessage, BrokerHarness) {
        let harness = try harness(dispatcherName)
        let dispatcher = try #require(harness.dispatcher(forRule: "product-detail") as? any BrokerDispatcher)
        return (dispatcher.makeTask(for: batch(for: dispatcher)), harness)
    }

    @Test(arguments: ["celery", "django_rq", "django_q", "dramatiq"])
    func taskMatchesGoldenFile(_ dispatcher: String) throws {
        let (task, _) = try Self.task(dispatcher)
        try GoldenFile.expectMatches(EmbeddedMessageCoding.encode(task), "\(dispatcher)-task.json")
    }

    @Test func celeryTaskCarriesRestflowKwargs() throws {
        let (task, _) = try Self.task("celery")

        #expect(task.system == .celery)
        #expect(task.queue == "cache-invalidation")
        #expect(task.taskName == "restflow.caching.tasks.task_run_cache_rules")
        #expect(task.args == [])
        #expect(task.kwargs.keys == ["model_label", "pk", "rule_ids", "signal_type", "rule_kwargs", "dispatchtop"])
        #expect(task.kwargs["model_label"] == "shop.Product")
        #expect(task.kwargs["pk"] == 42)
        #expect(task.kwargs["rule_ids"] == [1, 2])
        #expect(task.kwargs["signal_type"] == "POST_SAVE")
        #expect(task.kwargs["rule_kwargs"] == ["1": ["product_id": 42], "2": ["category_id": 7, "slug": "garden-tools"]])
        #expect(task.options.isEmpty)
    }

    @Test func deleteSignalIsPostDelete() throws {
        let harness = try Self.harness("celery")
        let dispatcher = try #require(harness.dispatcher(forRule: "product-detail") as? any BrokerDispatcher)
        var batch = Self.batch(for: dispatcher)
        batch.signal = .postDelete

        #expect(dispatcher.makeTask(for: batch).kwargs["signal_type"] == "POST_DELETE")
    }

    @Test(arguments: [("django_rq", "high"), ("django_q", "invalidation")])
    func runCacheRulesTaskCarriesContext(_ dispatcher: String, _ queue: String) throws {
        let (task, _) = try Self.task(dispatcher)

        #expect(task.queue == queue)
        #expect(task.taskName == "restflow.caching.tasks.run_cache_rules")
        #expect(task.args == [[1, 2], ["1": ["product_id": 42], "2": ["category_id": 7, "slug": "garden-tools"]]])
        #expect(task.kwargs.keys == ["dispatcher_name", "context"])
        #expect(task.kwargs["dispatcher_name"] == .string(dispatcher))
        #expect(task.kwargs["context"]?.objectValue?.keys == ["dispatchtop"])
    }

    @Test func djangoQOptionsCarryClusterAndGroup() throws {
        let (task, _) = try Self.task("django_q")

        #expect(task.options == JSONObject([("cluster", "invalidation"), ("group", "cache")]))
    }

    @Test func dramatiqTaskLandsOnConfiguredQueue() throws {
        let (task, _) = try Self.task("dramatiq")

        #expect(task.queue == "cache-invalidation")
        #expect(task.taskName == "restflow.task_run_cache_rules")
        #expect(task.args == [[1, 2], ["1": ["product_id": 42], "2": ["category_id": 7, "slug": "garden-tools"]]])
        #expect(task.kwargs.isEmpty)
        #expect(task.options.keys == ["dispatchtop"])
    }

    /// The block read back gives the batch and the fingerprints of the rule set in force.
    @Test(arguments: ["celery", "django_rq", "django_q", "dramatiq"])
    func dispatchtopBlockRoundTrips(_ dispatcher: String) throws {
        let (task, harness) = try Self.task(dispatcher)
        let block = try DispatchtopBlock.read(from: task).get()

        #expect(block.batch == task.batch)
        #expect(block.fingerprints["product-detail"] == harness.rules.rule(id: "product-detail")?.fingerprint)
        #expect(block.fingerprints["category-page"] == harness.rules.rule(id: "category-page")?.fingerprint)
        #expect(block.check(against: harness.rules) == nil)
    }

    /// Readers that know only the journal's batch form read the block too.
    @Test func dispatchtopBlockIsBatchCodingForm() throws {
        let (task, _) = try Self.task("django_rq")
        let block = try #require(task.kwargs["context"]?["dispatchtop"]?.objectValue)

        #expect(try BatchCoding.decode(block).get() == task.batch)
        #expect(block["version"] == 1)
        #expect(block["fingerprints"]?.objectValue?.keys == ["product-detail", "category-page"])
    }

    /// The embedded encoding decodes to the same task message.
    @Test(arguments: ["celery", "django_rq", "django_q", "dramatiq"])
    func embeddedEncodingRoundTrips(_ dispatcher: String) throws {
        let (task, _) = try Self.task(dispatcher)

        #expect(try EmbeddedMessageCoding.decode(EmbeddedMessageCoding.encode(task)).get() == task)
    }

    /// A rule sent as `product-detail` that the configuration has changed, and one it dropped.
    @Test func dispatchtopBlockReportsChangedAndMissingRules() throws {
        let (task, _) = try Self.task("celery")
        let block = try DispatchtopBlock.read(from: task).get()
        let changed = try BrokerHarness(
            configuration: EmbeddedFixtures.configuration([
                FixtureRule(id: "product-detail", dispatcher: "celery", fieldMapping: #"{"product_id": "id"}"#),
                FixtureRule(
                    id: "category-page", dispatcher: "celery", function: EmbeddedFixtures.categoryPage,
                    fieldMapping: #"{"category_id": "category.id"}"#),
            ], dispatcherSettings: Self.settingsBlocks), startConsumers: false)
        let dropped = try BrokerHarness(
            configuration: EmbeddedFixtures.configuration([FixtureRule(id: "product-detail", dispatcher: "celery")]),
            startConsumers: false)

        let changedError = try #require(block.check(against: changed.rules))
        #expect(changedError.kind == .ruleMissing)
        #expect(changedError.ruleID == "product-detail")
        #expect(changedError.message.contains("has changed since the batch was sent"))
        let droppedError = try #require(block.check(against: dropped.rules))
        #expect(droppedError.kind == .ruleMissing)
        #expect(droppedError.ruleID == "category-page")
        #expect(droppedError.message == "the configuration has no rule 'category-page'")
    }

    @Test func payloadWithoutBlockIsUndecodable() throws {
        var (task, _) = try Self.task("dramatiq")
        task.options = JSONObject()

        let result = DispatchtopBlock.read(from: task)
        #expect(throws: BatchError.self) { try result.get() }
        if case .failure(let error) = result {
            #expect(error.kind == .undecodable)
            #expect(error.message == "the dramatiq payload has no 'dispatchtop' object")
        }
    }
}
