import Engine
import Foundation
import Synchronization

/// Figures of one embedded broker measurement.
public struct EmbeddedBrokerBenchmarkResult: Sendable, Equatable {
    public var system: BrokerSystem
    public var batches: Int
    public var consumersPerSystem: Int
    /// Wall-clock seconds from the first event to the last batch done.
    public var seconds: Double
    public var batchesPerSecond: Double
    /// Latency from dispatch (the batch's creation) to done, in microseconds.
    public var latencyP50: UInt64
    public var latencyP90: UInt64
    public var latencyP99: UInt64
    public var latencyMax: UInt64
}

/// A measurement run that failed.
public struct EmbeddedBrokerBenchmarkError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

/// Measures the embedded broker end to end: events through a real engine,
/// one broker dispatcher, the embedded queues and consumers, and a memory
/// cache store. Meant for a release build; a debug build is several times slower.
public enum EmbeddedBrokerBenchmark {
    /// Processes `batches` events, each giving one batch on `system`'s
    /// dispatcher, and waits until every batch is done.
    ///
    /// - Throws: ``EmbeddedBrokerBenchmarkError`` when a batch fails or the
    ///   run does not finish within `timeout` seconds.
    public static func measure(
        batches: Int, system: BrokerSystem = .celery, consumersPerSystem: Int = 2, timeout: Double = 120
    ) throws -> EmbeddedBrokerBenchmarkResult {
        precondition(batches >= 1, "a measurement needs at least one batch")
        let broker = EmbeddedBroker(settings: EmbeddedBrokerSettings(consumersPerSystem: consumersPerSystem))
        let latencies = LatencyRecorder(capacity: batches)
        let engine = try makeEngine(system: system, broker: broker, latencies: latencies)
        broker.start(engine: engine)
        defer { broker.stop() }

        let started = Date().timeIntervalSince1970
        for pk in 0..<batches {
            engine.process(event(pk: pk), index: pk)
        }
        guard engine.waitUntilIdle(timeout: timeout) else {
            throw EmbeddedBrokerBenchmarkError(message: "the \(batches) batches did not finish within \(timeout) s")
        }
        let seconds = Date().timeIntervalSince1970 - started

        let (sorted, failures) = latencies.result()
        guard failures == 0 else {
            throw EmbeddedBrokerBenchmarkError(message: "\(failures) of \(batches) batches failed")
        }
        func percentile(_ fraction: Double) -> UInt64 {
            sorted[min(sorted.count - 1, Int(fraction * Double(sorted.count)))]
        }
        return EmbeddedBrokerBenchmarkResult(
            system: system, batches: batches, consumersPerSystem: consumersPerSystem, seconds: seconds,
            batchesPerSecond: Double(batches) / seconds, latencyP50: percentile(0.5), latencyP90: percentile(0.9),
            latencyP99: percentile(0.99), latencyMax: sorted[sorted.count - 1])
    }

    private static func makeEngine(
        system: BrokerSystem, broker: EmbeddedBroker, latencies: LatencyRecorder
    ) throws -> Engine {
        let text = """
            {"functions": [{"name": "bench.views.item", "key": {"partition": ["item_id"]}, "rules": [
              {"id": "item", "model": "bench.Item", "field_mapping": {"item_id": "pk"},
               "dispatcher": "\(system.rawValue)", "batch": true}]}]}
            """
        let registry = DispatcherRegistry.withInProcessDispatchers()
        let rules = RuleSetReference()
        registerBrokerDispatchers(in: registry, broker: broker, rules: rules)
        let compiled = try RuleSet.compile(ConfigurationLoader.parse(text), registry: registry)
        rules.set(compiled)
        return Engine(
            rules: compiled, registry: registry, cache: CacheContext(store: MemoryCacheStore()), journal: nil,
            onBatchFinished: { finished in latencies.add(finished) })
    }

    private static func event(pk: Int) -> ChangeEvent {
        ChangeEvent(model: "bench.Item", pk: .int(Int64(pk)), signal: .postSave)
    }
}

/// Dispatch-to-done latencies of finished batches, in microseconds.
private final class LatencyRecorder: Sendable {
    private let state: Mutex<(latencies: [UInt64], failures: Int)>

    init(capacity: Int) {
        var latencies: [UInt64] = []
        latencies.reserveCapacity(capacity)
        state = Mutex((latencies, 0))
    }

    func add(_ finished: FinishedBatch) {
        let microseconds = UInt64(max(0, finished.finishedAt - finished.batch.createdAt) * 1_000_000)
        state.withLock { state in
            if case .failed = finished.outcome { state.failures += 1 }
            state.latencies.append(microseconds)
        }
    }

    /// Returns the latencies sorted ascending, and the number of failed batches.
    func result() -> (sorted: [UInt64], failures: Int) {
        state.withLock { ($0.latencies.sorted(), $0.failures) }
    }
}
