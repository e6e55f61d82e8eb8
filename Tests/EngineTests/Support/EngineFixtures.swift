import Dispatch
import Foundation
import Synchronization
import TestSupport
import Testing

@testable import Engine

/// An engine over a fresh ``MemoryCacheStore``, built from a configuration
/// document, with everything a test may want to look at afterwards.
struct EngineHarness {
    let engine: Engine
    let store: MemoryCacheStore
    let log: DispatchLog
    let logs: MemoryLogHandler
    let finished: FinishedLog

    init(
        _ document: String, journal: FailureJournal? = nil, invalidators: InvalidatorRegistry = .builtIn,
        recomputers: RecomputerRegistry = .builtIn, logLevel: LogLevel = .debug, cacheKeyPrefix: String? = nil,
        brokerLabel: String? = nil, brokerIsRemote: Bool = false
    ) throws {
        log = DispatchLog()
        logs = MemoryLogHandler()
        finished = FinishedLog()
        store = MemoryCacheStore()
        let registry = registryWithRecording(log)
        let configuration = try ConfigurationLoader.parse(document)
        let rules = try RuleSet.compile(
            configuration, registry: registry, invalidators: invalidators, recomputers: recomputers)
        let finishedLog = finished
        engine = Engine(
            rules: rules, registry: registry,
            cache: CacheContext(store: store, keyPrefix: cacheKeyPrefix ?? configuration.settings.cacheKeyPrefix),
            journal: journal, logger: Logger(label: "engine", handler: logs, minimumLevel: logLevel),
            onBatchFinished: { finishedLog.append($0) }, brokerLabel: brokerLabel, brokerIsRemote: brokerIsRemote)
    }

    /// Waits until every dispatched batch has ended, polling so that an
    /// async test does not block a cooperative thread for long.
    func settle(timeout: Double = 10) async -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if engine.waitUntilIdle(timeout: 0) { return true }
            try? await Task.sleep(nanoseconds: 5_000_000)
        }
        return engine.waitUntilIdle(timeout: 0)
    }

    /// Log lines whose message is `message`.
    func records(_ message: String) -> [LogRecord] {
        logs.all.filter { $0.message == message }
    }
}

/// Batches reported through `onBatchFinished`, in the order they ended.
final class FinishedLog: Sendable {
    private let entries = Mutex<[FinishedBatch]>([])

    func append(_ batch: FinishedBatch) {
        entries.withLock { $0.append(batch) }
    }

    var all: [FinishedBatch] { entries.withLock { $0 } }
}

/// Metadata value of `key` in a log record.
func metadata(_ record: LogRecord, _ key: String) -> String? {
    record.metadata.first { $0.0 == key }?.1
}

/// An invalidator that fails every time with a fixed message.
struct FailingInvalidator: Invalidator {
    struct Failure: Error, CustomStringConvertible {
        var description: String { "the search index is read-only" }
    }

    func invalidate(function: CachedFunction, event: JSONObject, cache: CacheContext) throws {
        throw Failure()
    }
}

/// An invalidator that records where it ran and, when a gate is set,
/// waits for the test to open it (at most 10 seconds).
final class ProbeInvalidator: Invalidator {
    struct Call: Sendable {
        var function: String
        var event: JSONObject
        var insideTask: Bool
        var thread: String
    }

    private let calls = Mutex<[Call]>([])
    private let gate: DispatchSemaphore?

    init(gated: Bool = false) {
        gate = gated ? DispatchSemaphore(value: 0) : nil
    }

    func invalidate(function: CachedFunction, event: JSONObject, cache: CacheContext) throws {
        let call = Call(
            function: function.name, event: event, insideTask: AsyncTaskDispatcher.isInsideTask,
            thread: threadIdentity())
        calls.withLock { $0.append(call) }
        if let gate {
            _ = gate.wait(timeout: .now() + 10)
        }
    }

    /// Lets one gated call go on.
    func open() {
        gate?.signal()
    }

    var all: [Call] { calls.withLock { $0 } }
}

/// Returns a text naming the calling thread, to compare where two pieces of code ran.
func threadIdentity() -> String {
    "\(pthread_self())"
}

/// A recomputer that fails every time.
struct FailingRecomputer: Recomputer {
    struct Failure: Error, CustomStringConvertible {
        var description: String { "the product service timed out" }
    }

    func recompute(function: CachedFunction, arguments: JSONObject) throws -> [UInt8] {
        throw Failure()
    }
}

/// A recomputer that stores a fixed text.
struct FixedRecomputer: Recomputer {
    var text: String

    func recompute(function: CachedFunction, arguments: JSONObject) throws -> [UInt8] {
        Array(text.utf8)
    }
}

/// A failure journal in a fresh temporary folder.
struct TemporaryJournal {
    let directory: TemporaryDirectory
    let journal: FailureJournal

    init(listingCap: Int = 20_000) throws {
        directory = try TemporaryDirectory(prefix: "engine-journal")
        journal = try FailureJournal(path: directory.file("journal.sqlite"), listingCap: listingCap)
    }

    var path: String { directory.file("journal.sqlite") }
}
