import Brokers
import Engine

/// The broker the broker dispatchers send to, and its wiring into the engine.
///
/// With no `--broker`, the embedded broker runs in this process with
/// consumers for each system. Its retry timing is shortened so a demo shows
/// retries and dead letters within seconds: see ``embeddedSettings``.
struct BrokerSetup {
    let broker: any MessageBroker
    let rules = RuleSetReference()

    /// The embedded broker's timing for demos and `run`: Celery redelivers a
    /// lost message after 10 s, up to 3 times; Dramatiq retries 3 times from
    /// 0.5 s, doubling up to 4 s, then dead-letters.
    static let embeddedSettings = EmbeddedBrokerSettings(
        consumersPerSystem: 2, celeryVisibilityTimeout: 10, celeryMaxRedeliveries: 3, dramatiqMaxRetries: 3,
        dramatiqMinBackoff: 0.5, dramatiqMaxBackoff: 4)

    static func make(_ options: EngineOptions, logger: Logger) throws -> BrokerSetup {
        if let url = options.brokerURL, url != "embedded" {
            throw SetupError(message: "--broker '\(url)' is not supported by this build; leave it out for the embedded broker.")
        }
        return BrokerSetup(broker: EmbeddedBroker(settings: embeddedSettings, logger: logger.child("broker")))
    }

    /// Registers the four broker dispatchers; a batch the broker refuses as
    /// unavailable waits in the journal's outbox.
    func register(in registry: DispatcherRegistry, journal: FailureJournal, logger: Logger) {
        let outbox: BrokerOutbox = { batch, error in
            do {
                try journal.addToOutbox(batch, error: error.message, at: batch.createdAt)
            } catch {
                logger.error("Cannot store a batch in the outbox", [(LogKey.batchID, String(batch.id)), (LogKey.error, "\(error)")])
            }
        }
        registerBrokerDispatchers(in: registry, broker: broker, rules: rules, outbox: outbox, logger: logger.child("dispatch"))
    }

    /// Hands the compiled rules to the dispatchers, starts the consumers and
    /// lets the console read the queues.
    func start(engine: Engine, setup: EngineSetup) {
        rules.set(engine.rules)
        let journal = engine.journal
        engine.addQueueProbe(BrokerQueueProbe(broker: broker, outboxCount: { journal?.outboxCount() ?? 0 }))
        if let embedded = broker as? EmbeddedBroker {
            embedded.start(engine: engine)
            setup.onStop { embedded.stop() }
        }
    }
}

/// Builds cache stores from a `--cache` URL.
enum CacheSetup {
    static func makeStore(url: String) throws -> any CacheStore {
        throw SetupError(message: "--cache '\(url)' is not supported by this build; use 'memory'.")
    }
}

/// A registry with every built-in dispatcher, for commands that only
/// validate or list; the embedded broker behind it is never started.
enum DispatcherCatalog {
    static func registry() throws -> DispatcherRegistry {
        let registry = DispatcherRegistry.withInProcessDispatchers()
        registerBrokerDispatchers(in: registry, broker: EmbeddedBroker(settings: BrokerSetup.embeddedSettings))
        return registry
    }
}
