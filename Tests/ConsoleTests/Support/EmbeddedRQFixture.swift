@testable import Brokers
@testable import Engine
import TestSupport

/// A real engine whose one rule dispatches to `django_rq` on a started
/// embedded broker, with one consumer and a fault switch, for tests that
/// need failed messages in the broker's `default` queue.
struct EmbeddedRQFixture {
    static let configuration = """
        {"functions": [{"name": "shop.views.product_detail", "key": {"partition": ["product_id"]}, "rules": [
          {"id": "product", "model": "shop.Product", "field_mapping": {"product_id": "pk"},
           "dispatcher": "django_rq", "batch": true, "raise_exception": true}]}]}
        """

    let broker: EmbeddedBroker
    let engine: Engine

    /// Starts the broker; call ``stop()`` when done.
    init(journal: FailureJournal? = nil) throws {
        broker = EmbeddedBroker(settings: EmbeddedBrokerSettings(consumersPerSystem: 1, celeryMaxRedeliveries: 0))
        let registry = DispatcherRegistry.withInProcessDispatchers()
        let rulesReference = RuleSetReference()
        registerBrokerDispatchers(in: registry, broker: broker, rules: rulesReference)
        let rules = try RuleSet.compile(ConfigurationLoader.parse(Self.configuration), registry: registry)
        rulesReference.set(rules)
        engine = Engine(rules: rules, registry: registry, cache: CacheContext(store: MemoryCacheStore()), journal: journal)
        broker.start(engine: engine)
    }

    func stop() {
        broker.stop()
    }

    /// Makes every django_rq batch fail (or none), as the console's fault form does.
    func setFailing(_ failing: Bool) {
        engine.faults.set(FaultSetting(failurePercent: failing ? 100 : 0, addedLatencyMilliseconds: 0), for: "django_rq")
    }

    /// Dispatches saves of products `pks`.
    func save(_ pks: ClosedRange<Int>) {
        for pk in pks {
            _ = engine.process(ChangeEvent(model: "shop.Product", pk: .int(Int64(pk)), signal: .postSave, fields: JSONObject([])))
        }
    }

    /// Returns the failed messages of the `default` queue, newest first.
    func failed(limit: Int = 100) -> [FailedMessage] {
        broker.failedMessages(system: .rq, queue: "default", limit: limit)
    }
}
