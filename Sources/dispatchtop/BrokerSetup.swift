import Brokers
import Engine

/// Registers the broker dispatchers and starts what they need.
///
/// NOTE: the broker dispatchers (celery, django_rq, django_q, dramatiq) are
/// not built yet, so a configuration that names them fails to load with the
/// registry's list of known dispatchers, and --broker is rejected.
enum BrokerSetup {
    static func register(in registry: DispatcherRegistry, options: EngineOptions, logger: Logger) throws -> (any MessageBroker)? {
        if let url = options.brokerURL {
            throw SetupError(message: "--broker '\(url)' is not supported by this build.")
        }
        return nil
    }

    static func start(_ broker: (any MessageBroker)?, engine: Engine, setup: EngineSetup) {}
}

/// Builds cache stores from a `--cache` URL.
enum CacheSetup {
    static func makeStore(url: String) throws -> any CacheStore {
        throw SetupError(message: "--cache '\(url)' is not supported by this build; use 'memory'.")
    }
}

/// A registry with every built-in dispatcher, for commands that only
/// validate or list (no broker is started).
enum DispatcherCatalog {
    static func registry() throws -> DispatcherRegistry {
        DispatcherRegistry.withInProcessDispatchers()
    }
}
