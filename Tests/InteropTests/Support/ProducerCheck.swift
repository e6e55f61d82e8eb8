import Brokers
import Engine
import Foundation
import Testing
import TestSupport

/// What one run of the producer check recorded: dispatchtop's executable
/// sends the harness's events to a private Redis, the system's library
/// decodes the queued messages, and the real worker consumes them.
///
/// A suite runs it once (``ProducerCheckTrait``) and its tests assert on
/// the record, so the worker starts once per suite. The site stays up while
/// the suite's tests run; tests that start the worker again stop it themselves.
final class ProducerCheck: Sendable {
    let system: InteropSystem
    let site: InteropSite
    let configurationPath: String
    /// The Redis keys `fill_cache.py` wrote.
    let filledKeys: Set<String>
    let dispatch: DispatchtopCommand.Output
    /// `broker_state.py --messages` before the worker started: the library's decoding of each message.
    let queued: Result<JSONValue, InteropSetupError>
    let keysBeforeWorker: Set<String>
    /// Whether the worker finished every job within the timeout.
    let drained: Bool
    let workerExitStatus: Int32?
    let workerLog: String
    let keysAfterWorker: Set<String>
    /// `broker_state.py` after the worker stopped.
    let stateAfterWorker: Result<JSONValue, InteropSetupError>

    @TaskLocal static var current: ProducerCheck?

    /// Runs the check for `system` on a new site; the caller stops the site.
    init(_ system: InteropSystem) throws {
        let site = try InteropSite(name: system.name, variables: system.variables)
        do {
            self.system = system
            self.site = site
            if system.brokerSystem == .djangoQ { try site.migrate() }
            filledKeys = try site.fillCache()
            configurationPath = try InteropConfiguration.write(
                to: site.folder.path, dispatcher: system.dispatcher,
                brokers: InteropConfiguration.brokers(
                    for: system.dispatcher, databasePath: site.databasePath, rqSerializer: system.rqSerializer))
            dispatch = try DispatchtopCommand.run([
                "run", "--config", configurationPath, "--events", InteropHarness.events, "--broker", site.redisURL,
                "--journal", site.folder.file("journal.sqlite3"),
            ])
            queued = Self.result { try site.brokerState(system.stateName, messages: true) }
            keysBeforeWorker = try site.cacheKeys()

            let worker = try PythonWorker(system.worker, site: site)
            defer { worker.kill() }
            drained = poll(timeout: 60) { try system.hasFinishedAllJobs(site) }
            workerExitStatus = worker.stop()
            workerLog = worker.log
            keysAfterWorker = try site.cacheKeys()
            stateAfterWorker = Self.result { try site.brokerState(system.stateName) }
        } catch {
            site.stop()
            throw error
        }
    }

    /// Runs a harness step whose failure a test reports, instead of the whole suite.
    private static func result(_ step: () throws -> JSONValue) -> Result<JSONValue, InteropSetupError> {
        Result { try step() }.mapError { $0 as? InteropSetupError ?? InteropSetupError("\($0)") }
    }

    /// Returns the suite's check, failing the test when the suite has no producer-check trait.
    static func require(sourceLocation: SourceLocation = #_sourceLocation) throws -> ProducerCheck {
        try #require(current, "the suite needs the .producerCheck(...) trait", sourceLocation: sourceLocation)
    }

    /// Builds a Redis broker from the check's configuration the way the
    /// executable does, probing the system's queue from the start.
    func broker(writeMode: Bool) throws -> RedisBroker {
        try InteropConfiguration.broker(
            configurationPath: configurationPath, redisURL: site.redisURL, watching: [system.queueReference],
            writeMode: writeMode)
    }

    /// Returns the depth the broker's probe reads for the system's queue.
    func depth(_ broker: RedisBroker) -> QueueDepth? {
        broker.depths().first { $0.name == system.queueReference.name }
    }

    /// Returns the messages `broker_state.py --messages` decoded before the worker ran.
    func queuedMessages() throws -> [JSONValue] {
        try queued.get()["messages"]?.arrayValue ?? []
    }
}

/// Runs ``ProducerCheck`` once for a suite and stops its site after the suite's last test.
struct ProducerCheckTrait: SuiteTrait, TestScoping {
    var system: InteropSystem

    var isRecursive: Bool { false }

    func provideScope(
        for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void
    ) async throws {
        let check = try ProducerCheck(system)
        defer { check.site.stop() }
        try await ProducerCheck.$current.withValue(check) {
            try await function()
        }
    }
}

extension Trait where Self == ProducerCheckTrait {
    /// Returns a trait that runs the producer check for `system` before the suite's tests.
    static func producerCheck(_ system: InteropSystem) -> ProducerCheckTrait {
        ProducerCheckTrait(system: system)
    }
}
