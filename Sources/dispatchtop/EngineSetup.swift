import Brokers
import Engine
import Foundation

/// The files and URLs the engine uses, as set on the command line.
struct EngineOptions {
    /// nil runs the bundled demo configuration.
    var configPath: String?
    var brokerURL: String?
    var cacheURL: String?
    var journalPath: String?
    var logPath: String?
    var logLevel: LogLevel = .info
    var writeMode = false
    /// Whether the process sends batches waiting in the journal's outbox to
    /// a real broker. `run` and `replay` do; the console and `--once` only
    /// with `--write`, because watching a broker is read-only otherwise.
    var sendsOutbox = true

    static let valuedOptions = ["--config", "--broker", "--cache", "--journal", "--log", "--log-level"]

    init() {}

    init(_ arguments: Arguments) throws(UsageError) {
        configPath = arguments.value("--config")
        brokerURL = arguments.value("--broker")
        cacheURL = arguments.value("--cache")
        journalPath = arguments.value("--journal")
        logPath = arguments.value("--log")
        writeMode = arguments.has("--write")
        if let level = arguments.value("--log-level") {
            guard let parsed = LogLevel(name: level) else {
                throw UsageError(
                    message: "--log-level '\(level)' is not one of trace, debug, info, notice, warning, error.",
                    command: arguments.command)
            }
            logLevel = parsed
        }
    }
}

/// A failure while building the engine, printed before anything else runs.
struct SetupError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

/// Finds the bundled assets: `DISPATCHTOP_ASSETS`, else an `assets` folder
/// beside the executable or in one of its parent folders (a build inside
/// the source tree), else the current folder's.
enum DemoAssets {
    static func folder() -> String? {
        let manager = FileManager.default
        if let override = ProcessInfo.processInfo.environment["DISPATCHTOP_ASSETS"] {
            return override
        }
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<8 {
            let candidate = directory.appendingPathComponent("assets/demo-config.json").path
            if manager.fileExists(atPath: candidate) { return directory.appendingPathComponent("assets").path }
            directory = directory.deletingLastPathComponent()
        }
        let local = manager.currentDirectoryPath + "/assets"
        return manager.fileExists(atPath: local + "/demo-config.json") ? local : nil
    }

    static func configPath() throws(SetupError) -> String {
        guard let folder = folder() else {
            throw SetupError(
                message: "The bundled demo configuration (assets/demo-config.json) was not found. "
                    + "Run dispatchtop from its source folder, set DISPATCHTOP_ASSETS to the assets folder, or pass --config FILE.")
        }
        return folder + "/demo-config.json"
    }
}

/// The engine and what it was built on, with one place to shut them down.
final class EngineSetup {
    let engine: Engine
    let configuration: EngineConfiguration
    let configPath: String
    let journalPath: String
    let logPath: String
    let logger: Logger
    let broker: any MessageBroker
    let cacheLabel: String
    private var stopActions: [() -> Void] = []

    private init(
        engine: Engine, configuration: EngineConfiguration, configPath: String, journalPath: String, logPath: String,
        logger: Logger, broker: any MessageBroker, cacheLabel: String
    ) {
        self.engine = engine
        self.configuration = configuration
        self.configPath = configPath
        self.journalPath = journalPath
        self.logPath = logPath
        self.logger = logger
        self.broker = broker
        self.cacheLabel = cacheLabel
    }

    /// Loads the configuration, opens the journal and log, and builds the
    /// engine with every dispatcher registered.
    ///
    /// - Parameter onBatchFinished: called for every batch that ends.
    static func make(
        _ options: EngineOptions, onBatchFinished: (@Sendable (FinishedBatch) -> Void)? = nil
    ) throws -> EngineSetup {
        let configPath = try options.configPath ?? DemoAssets.configPath()
        let configuration = try ConfigurationLoader.load(path: configPath)
        try FilePaths.checkWritableFile(options.journalPath, option: "--journal")
        try FilePaths.checkWritableFile(options.logPath, option: "--log")
        let workFolder = try makeWorkFolder(options)
        do {
            return try make(options, configuration: configuration, configPath: configPath, workFolder: workFolder, onBatchFinished: onBatchFinished)
        } catch {
            // A temporary folder made for a start that failed holds nothing of use.
            if options.journalPath == nil { try? FileManager.default.removeItem(atPath: workFolder) }
            throw error
        }
    }

    private static func make(
        _ options: EngineOptions, configuration: EngineConfiguration, configPath: String, workFolder: String,
        onBatchFinished: (@Sendable (FinishedBatch) -> Void)?
    ) throws -> EngineSetup {
        let journalPath = options.journalPath ?? workFolder + "/journal.sqlite3"
        let logPath = options.logPath ?? (options.journalPath.map { ($0 as NSString).deletingLastPathComponent } ?? workFolder)
            .appendingPathComponent("dispatchtop.log")
        let handler: FileLogHandler
        do {
            handler = try FileLogHandler(path: logPath)
        } catch {
            let option = options.logPath == nil ? "the default log beside the journal" : "--log"
            throw SetupError(message: "Cannot open the log file '\(logPath)' (\(option)): permission denied or not a file. Pass --log FILE with a writable path.")
        }
        let logger = Logger(label: "dispatchtop", handler: RateLimitedLogHandler(handler), minimumLevel: options.logLevel)

        // The cache and the broker are checked before the journal is opened,
        // so an unusable Redis stops the command before it creates the journal.
        let cache = try makeCacheStore(options, logger: logger)
        let brokerSetup = try BrokerSetup.make(options, configuration: configuration, logger: logger)
        let journal: FailureJournal
        do {
            journal = try FailureJournal(path: journalPath)
        } catch {
            throw SetupError(message: "Cannot open the failure journal: \(error). Pass --journal PATH with a writable path.")
        }

        let registry = DispatcherRegistry.withInProcessDispatchers()
        try? registry.register(
            DispatcherRegistration(name: AsyncTaskDispatcher.registeredName) { options throws(DispatcherConfigurationError) in
                try AsyncTaskDispatcher(options: options, logger: logger.child("asyncio"))
            })
        brokerSetup.register(in: registry, journal: journal, logger: logger)
        let rules = try RuleSet.compile(configuration, registry: registry)
        let engine = Engine(
            rules: rules, registry: registry,
            cache: CacheContext(store: cache, keyPrefix: configuration.settings.cacheKeyPrefix), journal: journal,
            logger: logger, onBatchFinished: onBatchFinished, brokerLabel: brokerSetup.broker.label,
            brokerIsRemote: brokerSetup.broker is RedisBroker)
        logger.info(
            "Engine started",
            [(LogKey.path, configPath), ("journal", journalPath), ("rules", String(configuration.rules.count)),
             ("broker", brokerSetup.broker.label), ("cache", cache.label)])
        let setup = EngineSetup(
            engine: engine, configuration: configuration, configPath: configPath, journalPath: journalPath,
            logPath: logPath, logger: logger, broker: brokerSetup.broker, cacheLabel: cache.label)
        brokerSetup.start(engine: engine, setup: setup, sendsOutbox: options.sendsOutbox)
        return setup
    }

    /// Registers work to run at shutdown, last registered first.
    func onStop(_ action: @escaping () -> Void) {
        stopActions.append(action)
    }

    func shutdown() {
        for action in stopActions.reversed() { action() }
        stopActions.removeAll()
        if let redis = engine.cache.store as? RedisCacheStore {
            let figures = redis.dropStatistics
            logger.info(
                "Redis cache prefix drops",
                [("drops", String(figures.drops)), ("passes", String(figures.passes)), ("scan.calls", String(figures.scanCalls)),
                 ("keys.returned", String(figures.keysReturned)), ("keys.deleted", String(figures.keysDeleted))])
        }
        do {
            try engine.journal?.checkpoint()
        } catch {
            logger.error("Cannot checkpoint the journal", [(LogKey.path, journalPath), (LogKey.error, "\(error)")])
        }
        logger.info("Engine stopped")
        logger.flush()
    }

    private static func makeWorkFolder(_ options: EngineOptions) throws -> String {
        if let journal = options.journalPath {
            return (journal as NSString).deletingLastPathComponent.isEmpty ? "." : (journal as NSString).deletingLastPathComponent
        }
        let folder = NSTemporaryDirectory() + "dispatchtop-\(getpid())-\(UUID().uuidString.prefix(6))"
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        } catch {
            throw SetupError(message: "Cannot create a working folder under \(NSTemporaryDirectory()): \(error.localizedDescription). Pass --journal PATH.")
        }
        return folder
    }

    private static func makeCacheStore(_ options: EngineOptions, logger: Logger) throws -> any CacheStore {
        guard let url = options.cacheURL, url != "memory" else { return MemoryCacheStore() }
        return try CacheSetup.makeStore(url: url, logger: logger)
    }
}

/// Checks paths given on the command line before anything is created.
enum FilePaths {
    /// Fails when an event file is missing or is a folder; "-" is standard input.
    static func checkEventFile(_ path: String) throws {
        guard path != "-" else { return }
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
            throw SetupError(message: "The event file '\(path)' (--events) does not exist. Check the path, or pass - to read standard input.")
        }
        if isFolder.boolValue {
            throw SetupError(message: "--events '\(path)' is a folder; pass a JSON Lines file, or - for standard input.")
        }
    }

    /// Fails when `path` is a folder, or its folder does not exist.
    static func checkWritableFile(_ path: String?, option: String) throws {
        guard let path else { return }
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), isFolder.boolValue {
            throw SetupError(message: "\(option) '\(path)' is a folder; pass a file path, such as '\(path)/\(option == "--log" ? "dispatchtop.log" : "journal.sqlite3")'.")
        }
        let folder = (path as NSString).deletingLastPathComponent
        guard folder.isEmpty || FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder), isFolder.boolValue || folder.isEmpty else {
            throw SetupError(message: "The folder '\(folder)' for \(option) '\(path)' does not exist. Create it, or pass a path in an existing folder.")
        }
    }
}

extension String {
    fileprivate func appendingPathComponent(_ component: String) -> String {
        (self as NSString).appendingPathComponent(component)
    }
}
