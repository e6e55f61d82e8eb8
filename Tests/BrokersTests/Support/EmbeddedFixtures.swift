import Brokers
import Engine
import Foundation
import Synchronization
import TestSupport

/// Message ids `celery-1`, `celery-2`, `django_rq-1`, ... in order of storing, per system.
final class SequentialMessageIDs: Sendable {
    private let counters = Mutex<[BrokerSystem: Int]>([:])

    func next(_ system: BrokerSystem) -> String {
        let number = counters.withLock { counters in
            counters[system, default: 0] += 1
            return counters[system, default: 0]
        }
        return "\(system.rawValue)-\(number)"
    }
}

/// Batches handed to the outbox hook, in order.
final class OutboxRecorder: Sendable {
    private let entries = Mutex<[(batch: Batch, error: BrokerError)]>([])

    func add(_ batch: Batch, _ error: BrokerError) {
        entries.withLock { $0.append((batch, error)) }
    }

    var all: [(batch: Batch, error: BrokerError)] { entries.withLock { $0 } }
}

/// One rule of a fixture configuration.
struct FixtureRule {
    var id: String
    var dispatcher: String
    var function = "shop.views.product_detail"
    var raiseException: Bool? = true
    var dispatcherConfig = "{}"
    var fieldMapping = #"{"product_id": "pk"}"#
}

enum EmbeddedFixtures {
    static let productDetail = "shop.views.product_detail"
    static let categoryPage = "shop.views.category_page"

    /// Builds a configuration with the two functions the fixtures use and
    /// `rules`, each function's rules in the order given.
    static func configuration(_ rules: [FixtureRule], dispatcherSettings: String = "{}") -> String {
        func rulesJSON(of function: String) -> String {
            rules.filter { $0.function == function }.map { rule in
                let raise = rule.raiseException.map { $0 ? "true" : "false" } ?? "null"
                return """
                    {"id": "\(rule.id)", "model": "shop.Product", "field_mapping": \(rule.fieldMapping),
                     "dispatcher": "\(rule.dispatcher)", "dispatcher_config": \(rule.dispatcherConfig),
                     "batch": true, "raise_exception": \(raise)}
                    """
            }.joined(separator: ",\n")
        }
        return """
            {"settings": {"dispatchers": \(dispatcherSettings)},
             "functions": [
               {"name": "\(productDetail)", "key": {"partition": ["product_id"]}, "rules": [\(rulesJSON(of: productDetail))]},
               {"name": "\(categoryPage)", "key": {"partition": ["category_id"]}, "rules": [\(rulesJSON(of: categoryPage))]}
             ]}
            """
    }

    /// Builds the save event of product `pk` in category `category`.
    static func productSaved(_ pk: Int64, category: Int64 = 7) -> ChangeEvent {
        ChangeEvent(
            model: "shop.Product", pk: .int(pk), signal: .postSave,
            fields: JSONObject([("category", .object(JSONObject([("id", .int(category))])))]))
    }

    /// Settings with sequential message ids, one consumer per system and the given overrides.
    static func settings(
        ids: SequentialMessageIDs = SequentialMessageIDs(), visibilityTimeout: Double = 5, celeryMaxRedeliveries: Int = 3,
        dramatiqMaxRetries: Int = 3, dramatiqMinBackoff: Double = 0.02
    ) -> EmbeddedBrokerSettings {
        EmbeddedBrokerSettings(
            consumersPerSystem: 1, celeryVisibilityTimeout: visibilityTimeout, celeryMaxRedeliveries: celeryMaxRedeliveries,
            dramatiqMaxRetries: dramatiqMaxRetries, dramatiqMinBackoff: dramatiqMinBackoff, dramatiqMaxBackoff: 5,
            makeMessageID: { ids.next($0) })
    }
}

/// A real engine wired to an embedded broker: in-process and broker
/// dispatchers registered, a memory cache store, and a failure journal in a
/// temporary folder.
final class BrokerHarness {
    let directory: TemporaryDirectory
    let broker: EmbeddedBroker
    let rulesReference = RuleSetReference()
    let registry: DispatcherRegistry
    let rules: RuleSet
    let cache = MemoryCacheStore()
    let journal: FailureJournal
    let engine: Engine
    let outbox = OutboxRecorder()

    init(
        configuration: String, settings: EmbeddedBrokerSettings = EmbeddedFixtures.settings(), useOutbox: Bool = false,
        startConsumers: Bool = true
    ) throws {
        directory = try TemporaryDirectory(prefix: "dispatchtop-brokers")
        broker = EmbeddedBroker(settings: settings)
        registry = DispatcherRegistry.withInProcessDispatchers()
        let recorder = outbox
        var hook: BrokerOutbox?
        if useOutbox {
            hook = { @Sendable batch, error in recorder.add(batch, error) }
        }
        registerBrokerDispatchers(in: registry, broker: broker, rules: rulesReference, outbox: hook)
        rules = try RuleSet.compile(ConfigurationLoader.parse(configuration), registry: registry)
        rulesReference.set(rules)
        journal = try FailureJournal(path: directory.file("journal.sqlite"))
        engine = Engine(rules: rules, registry: registry, cache: CacheContext(store: cache), journal: journal)
        if startConsumers {
            broker.start(engine: engine)
        }
    }

    deinit {
        broker.stop()
        directory.remove()
    }

    /// Waits until the engine has no batch left and the broker no message in
    /// flight or waiting; returns whether both happened within `timeout` seconds.
    func settle(timeout: Double = 10) -> Bool {
        engine.waitUntilIdle(timeout: timeout) && broker.waitUntilIdle(timeout: timeout)
    }

    /// Reads every journal entry, whatever its status, oldest first.
    func journalEntries() throws -> [FailureRecord] {
        try journal.entries(FailureFilter(statuses: FailureStatus.allCases))
    }

    /// Stores a cache entry under the prefix `function` drops for `arguments`; returns its key.
    @discardableResult
    func seedCacheEntry(function: String, arguments: JSONObject) throws -> String {
        let cached = rules.configuration.functions.first { $0.name == function }!
        let key = CacheContext(store: cache).storagePrefix(of: cached, arguments: arguments) + "page:1"
        try cache.set(key, Array("cached".utf8))
        return key
    }

    /// Returns the dispatcher the rule with `ruleID` uses.
    func dispatcher(forRule ruleID: String) -> any Dispatcher {
        rules.dispatcher(forRule: ruleID)!
    }
}

extension BrokerHarness {
    /// Builds a harness with one rule, `product`, on `dispatcher`.
    static func single(
        _ dispatcher: String, raiseException: Bool? = true, settings: EmbeddedBrokerSettings = EmbeddedFixtures.settings(),
        dispatcherSettings: String = "{}", startConsumers: Bool = true, useOutbox: Bool = false
    ) throws -> BrokerHarness {
        let rule = FixtureRule(id: "product", dispatcher: dispatcher, raiseException: raiseException)
        return try BrokerHarness(
            configuration: EmbeddedFixtures.configuration([rule], dispatcherSettings: dispatcherSettings), settings: settings,
            useOutbox: useOutbox, startConsumers: startConsumers)
    }

    func failAll(_ dispatcher: String) {
        engine.faults.set(FaultSetting(failurePercent: 100, addedLatencyMilliseconds: 0), for: dispatcher)
    }

    func clearFaults(_ dispatcher: String) {
        engine.faults.set(FaultSetting(failurePercent: 0, addedLatencyMilliseconds: 0), for: dispatcher)
    }

    func statistics(_ queue: String) -> EmbeddedQueueStatistics? {
        broker.statistics().first { $0.name == queue }
    }

    func depth(_ queue: String) -> QueueDepth? {
        broker.depths().first { $0.name == queue }
    }

    func figures(_ dispatcher: String) -> DispatcherSnapshot? {
        engine.snapshot().dispatchers.first { $0.name == dispatcher }
    }
}
