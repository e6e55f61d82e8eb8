import Brokers
import Engine
import Foundation
import Synchronization

/// The broker the broker dispatchers send to, and its wiring into the engine.
///
/// With no `--broker`, the embedded broker runs in this process with
/// consumers for each system. Its retry timing is shortened so that a demo
/// shows retries and dead letters within seconds (see ``embeddedSettings``). With
/// `--broker redis://...`, each system's real wire format is written to
/// Redis for real workers, and unsent batches wait in the journal's outbox
/// while Redis is unreachable.
struct BrokerSetup {
    let broker: any MessageBroker
    let rules = RuleSetReference()
    /// The engine's executor once it exists; the outbox hook reports
    /// batches it took through it.
    let executorReference = ExecutorReference()

    /// The embedded broker's timing for demos and `run`: Celery redelivers a
    /// lost message after 10 s, up to 3 times; Dramatiq retries 3 times from
    /// 0.5 s, doubling up to 4 s, then dead-letters.
    static let embeddedSettings = EmbeddedBrokerSettings(
        consumersPerSystem: 2, celeryVisibilityTimeout: 10, celeryMaxRedeliveries: 3, dramatiqMaxRetries: 3,
        dramatiqMinBackoff: 0.5, dramatiqMaxBackoff: 4)

    static func make(_ options: EngineOptions, configuration: EngineConfiguration, logger: Logger) throws -> BrokerSetup {
        guard let url = options.brokerURL, url != "embedded" else {
            return BrokerSetup(broker: EmbeddedBroker(settings: embeddedSettings, logger: logger.child("broker")))
        }
        let parsed: RedisURL
        do {
            parsed = try RedisURL(parsing: url)
        } catch {
            throw SetupError(message: "--broker: \(error.message)")
        }
        var settings = try RedisBrokerOptions.read(configuration, url: parsed)
        settings.writeMode = options.writeMode
        let used = Set(configuration.rules.compactMap { BrokerSystem(rawValue: $0.dispatcher) })
        do {
            try settings.validate(for: used)
        } catch {
            throw configuration.error(at: "settings.brokers.django_q.secret_key", error.message)
        }
        let broker = RedisBroker(settings: settings, logger: logger.child("broker"))
        let status = broker.status
        guard status.isUp else {
            // The connection's message names the URL (without its password) and the fix.
            throw SetupError(message: "--broker: \(status.detail ?? "Redis at '\(parsed)' does not answer. Check that it is running.")")
        }
        return BrokerSetup(broker: broker)
    }

    /// Registers the four broker dispatchers; a batch the broker refuses as
    /// unavailable waits in the journal's outbox.
    func register(in registry: DispatcherRegistry, journal: FailureJournal, logger: Logger) {
        let executor = executorReference
        let outbox: BrokerOutbox = { batch, error in
            do {
                try journal.addToOutbox(batch, error: error.message, at: batch.createdAt)
                executor.current?.markInOutbox(batch)
            } catch {
                logger.error(
                    "Cannot store a batch in the outbox",
                    [(LogKey.batchID, String(batch.id)), (LogKey.error, "\(error)"),
                     ("batch", JSONWriter.string(.object(BatchCoding.encode(batch))))])
            }
        }
        registerBrokerDispatchers(
            in: registry, broker: broker, rules: rules, outbox: outbox, logger: logger.child("dispatch"))
    }

    /// Hands the compiled rules to the dispatchers, starts the consumers or
    /// the outbox drainer, and lets the console read the queues.
    func start(engine: Engine, setup: EngineSetup, sendsOutbox: Bool) {
        rules.set(engine.rules)
        executorReference.set(engine.executor)
        let journal = engine.journal
        engine.addQueueProbe(BrokerQueueProbe(broker: broker, outboxCount: { journal?.outboxCount() ?? 0 }))
        if let embedded = broker as? EmbeddedBroker {
            embedded.start(engine: engine)
            setup.onStop { embedded.stop() }
        }
        if let redis = broker as? RedisBroker {
            // Watch every queue the configuration's broker dispatchers route
            // to from the start, so a console watching a real broker shows
            // their depths before this process sends anything.
            let probe = Batch(
                id: 0, dispatcher: "", batchKey: "", model: "", pk: .null, signal: .postSave, ruleIDs: [],
                restflowRuleIDs: [], ruleKwargs: JSONObject(), createdAt: 0)
            let brokerDispatchers = engine.rules.dispatchers.compactMap { $0 as? any BrokerDispatcher }
            for dispatcher in brokerDispatchers {
                redis.watch(redis.queueReference(for: dispatcher.makeTask(for: probe)))
            }
        }
        if let redis = broker as? RedisBroker, let journal, !sendsOutbox {
            // Sending is a write, which a read-only process must not make.
            let waiting = journal.outboxCount()
            if waiting > 0 {
                setup.logger.child("outbox").warning(
                    "Outbox not sent: the process is read-only; run with --write to send it",
                    [("waiting", String(waiting)), ("broker", redis.label)])
            }
        }
        if let redis = broker as? RedisBroker, let journal, sendsOutbox {
            let registry = engine.registry
            // Backoff capped at 2 s, so batches go out soon after Redis is back.
            let drainer = OutboxDrainer(
                journal: journal, broker: redis, options: OutboxDrainer.Options(maximumDelay: 2),
                logger: setup.logger.child("outbox"),
                fingerprints: { batch in rules.fingerprints(of: batch.ruleIDs) },
                onSent: { [executor = engine.executor] batch in executor.markOutboxSent(batch) },
                taskForBatch: { batch in
                    let options = DispatcherOptions(dispatcher: batch.dispatcher, values: batch.options)
                    return (try? registry.make(batch.dispatcher, options: options) as? any BrokerDispatcher)?
                        .makeTask(for: batch)
                })
            drainer.start()
            setup.onStop { drainer.stop() }
        }
    }
}

/// Reads `settings.brokers` into the Redis broker's settings.
///
/// The keys per system:
/// - `celery.global_keyprefix`;
/// - `django_rq.key_prefix`, `django_rq.serializer` ("pickle" or "json") and
///   `django_rq.timeout` (seconds);
/// - `dramatiq.namespace`;
/// - `django_q.secret_key`, or `django_q.secret_key_env` naming an environment
///   variable that holds it; `django_q.name` (the cluster name, which is also
///   the signing salt); `django_q.compress`; `django_q.database` (a SQLite
///   Django database to read failures from); `django_q.clusters`.
enum RedisBrokerOptions {
    static let allowed: [String: [String]] = [
        "celery": ["global_keyprefix"],
        "django_rq": ["key_prefix", "serializer", "timeout"],
        "dramatiq": ["namespace"],
        "django_q": ["secret_key", "secret_key_env", "name", "compress", "database", "clusters"],
    ]

    static func read(_ configuration: EngineConfiguration, url: RedisURL) throws -> RedisBrokerSettings {
        var settings = RedisBrokerSettings(url: url)
        let blocks = configuration.settings.brokers
        for member in blocks {
            let path = "settings.brokers.\(member.key)"
            guard let keys = allowed[member.key] else {
                let hint = NameSuggestion.closest(to: member.key, in: Array(allowed.keys)).map { "Did you mean '\($0)'? " } ?? ""
                throw configuration.error(at: path, "unknown broker system '\(member.key)'", fix: "\(hint)Known: \(allowed.keys.sorted().joined(separator: ", ")).")
            }
            guard let block = member.value.objectValue else {
                throw configuration.error(at: path, "expected an object, got \(JSONWriter.string(member.value))")
            }
            for key in block.keys where !keys.contains(key) {
                let hint = NameSuggestion.closest(to: key, in: keys).map { "Did you mean '\($0)'? " } ?? ""
                throw configuration.error(at: "\(path).\(key)", "unknown key '\(key)'", fix: "\(hint)Known: \(keys.joined(separator: ", ")).")
            }
            try apply(member.key, block, path: path, to: &settings, configuration: configuration)
        }
        return settings
    }

    private static func apply(
        _ system: String, _ block: JSONObject, path: String, to settings: inout RedisBrokerSettings,
        configuration: EngineConfiguration
    ) throws {
        func clusterNames(_ value: JSONValue?) throws -> [String]? {
            guard let value, !value.isNull else { return nil }
            let names = value.arrayValue?.compactMap(\.stringValue) ?? []
            guard let items = value.arrayValue, names.count == items.count, !names.contains(where: \.isEmpty) else {
                throw configuration.error(
                    at: "\(path).clusters", "expected a list of cluster names, got \(JSONWriter.string(value))",
                    fix: "List Q_CLUSTER's cluster_name and the ALT_CLUSTERS names, e.g. [\"default\"].")
            }
            return names
        }
        func string(_ key: String) throws -> String? {
            guard let value = block[key], !value.isNull else { return nil }
            guard let text = value.stringValue else {
                throw configuration.error(at: "\(path).\(key)", "expected a string, got \(JSONWriter.string(value))")
            }
            return text
        }
        switch system {
        case "celery":
            settings.celeryKeyPrefix = try string("global_keyprefix") ?? ""
        case "django_rq":
            settings.rqKeyPrefix = try string("key_prefix") ?? settings.rqKeyPrefix
            switch try string("serializer") {
            case nil, "pickle"?: settings.rqSerializer = .pickle
            case "json"?: settings.rqSerializer = .json
            case let other?:
                throw configuration.error(at: "\(path).serializer", "unknown serializer '\(other)'", fix: "Use \"pickle\" (django-rq's default) or \"json\".")
            }
            if let value = block["timeout"] {
                guard let seconds = value.intValue, seconds > 0 else {
                    throw configuration.error(at: "\(path).timeout", "expected a positive number of seconds, got \(JSONWriter.string(value))")
                }
                settings.rqTimeout = Int(seconds)
            }
        case "dramatiq":
            settings.dramatiqNamespace = try string("namespace") ?? settings.dramatiqNamespace
        default:
            var djangoQ = settings.djangoQ
            djangoQ.secretKey = try string("secret_key")
            if let variable = try string("secret_key_env") {
                guard let secret = ProcessInfo.processInfo.environment[variable], !secret.isEmpty else {
                    throw configuration.error(
                        at: "\(path).secret_key_env", "the environment variable '\(variable)' is not set",
                        fix: "Export it with the Django SECRET_KEY of the django-q cluster.")
                }
                djangoQ.secretKey = secret
            }
            djangoQ.name = try string("name") ?? djangoQ.name
            if let value = block["compress"] {
                guard let flag = value.boolValue else {
                    throw configuration.error(at: "\(path).compress", "expected true or false, got \(JSONWriter.string(value))")
                }
                djangoQ.compress = flag
            }
            djangoQ.databasePath = try string("database")
            djangoQ.clusters = try clusterNames(block["clusters"])
            settings.djangoQ = djangoQ
        }
    }
}

/// Builds cache stores from a `--cache` URL.
enum CacheSetup {
    static func makeStore(url: String, logger: Logger) throws -> any CacheStore {
        let parsed: RedisURL
        do {
            parsed = try RedisURL(parsing: url)
        } catch {
            throw SetupError(message: "--cache: \(error.message) Use 'memory' for the embedded cache.")
        }
        let store = RedisCacheStore(url: parsed, logger: logger)
        do {
            try store.connection.ping()
        } catch {
            throw SetupError(message: "--cache: \(error.message)")
        }
        return store
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

/// The engine's executor, set once the engine exists.
final class ExecutorReference: Sendable {
    private let executor = Mutex<BatchExecutor?>(nil)

    var current: BatchExecutor? { executor.withLock { $0 } }

    func set(_ value: BatchExecutor) {
        executor.withLock { $0 = value }
    }
}
