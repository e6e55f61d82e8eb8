import Engine
import Foundation
import Synchronization

/// Measures what one console frame costs without a terminal: building the
/// screen model from a snapshot and diffing it against the previous frame.
public enum RenderBenchmark {
    /// Figures of one run, in microseconds per frame.
    public struct Figures: Sendable, CustomStringConvertible {
        public var width: Int
        public var height: Int
        public var failures: Int
        public var frames: Int
        /// Screen model plus diff, frames whose failures did not change (the sort is cached).
        public var medianMicroseconds: Double
        public var p99Microseconds: Double
        /// The first frame, which sorts every failure.
        public var coldMicroseconds: Double
        /// `Engine.snapshot()` alone, which the console calls once per frame.
        public var snapshotMedianMicroseconds: Double

        public var description: String {
            "console frame \(width)x\(height), \(failures) failures: model+diff median \(format(medianMicroseconds)) µs, "
                + "p99 \(format(p99Microseconds)) µs, first frame (sorting) \(format(coldMicroseconds)) µs; "
                + "engine snapshot median \(format(snapshotMedianMicroseconds)) µs (\(frames) frames)"
        }

        private func format(_ value: Double) -> String { String(format: "%.0f", value) }
    }

    /// Journals `failures` failures into a fresh journal under `folder`,
    /// runs a burst of events, then times `frames` frames while the clock
    /// moves one second per frame, as the header clock does.
    public static func run(
        width: Int = 200, height: Int = 60, failures: Int = 10_000, frames: Int = 300, folder: String? = nil
    ) throws -> Figures {
        let base = folder ?? (FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory())
        let directory = "\(base)/dispatchtop-render-\(getpid())-\(UUID().uuidString.prefix(6))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }

        let clock = BenchmarkClock(1_796_299_200)
        let configuration = try ConfigurationLoader.parse(configurationText)
        let registry = DispatcherRegistry.withInProcessDispatchers()
        let rules = try RuleSet.compile(configuration, registry: registry)
        let journal = try FailureJournal(path: directory + "/journal.sqlite3")
        let engine = Engine(
            rules: rules, registry: registry, cache: CacheContext(store: MemoryCacheStore()), journal: journal,
            clock: { clock.now })
        try seed(journal, failures: failures, start: clock.now)
        for pk in 1...600 {
            engine.process(ChangeEvent(
                model: "shop.Product", pk: .int(Int64(pk)), signal: .postSave, updateFields: ["price"],
                fields: JSONObject([("id", .int(Int64(pk))), ("category", ["id": .int(Int64(pk % 7))])])))
        }
        _ = engine.waitUntilIdle(timeout: 30)

        var state = ConsoleState()
        state.focus = .failures
        let context = ScreenContext(brokerLabel: "embedded", cacheLabel: "memory", eventSourceLabel: "demo 40/s", rules: rules)
        let cache = PaneOrderCache()
        var previous: ScreenGrid?
        var frameTimes: [Double] = []
        var snapshotTimes: [Double] = []
        var cold = 0.0
        for index in 0..<(frames + 1) {
            clock.advance(by: 1)
            let snapshotStart = DispatchTime.now().uptimeNanoseconds
            let snapshot = engine.snapshot()
            let start = DispatchTime.now().uptimeNanoseconds
            let frame = ScreenModel.render(FrameInput(snapshot: snapshot, state: state, context: context), width: width, height: height, cache: cache)
            let spans = FrameDiff.changedSpans(from: previous, to: frame.grid)
            let end = DispatchTime.now().uptimeNanoseconds
            precondition(!spans.isEmpty, "every frame shows a new clock, so some cells change")
            previous = frame.grid
            state.scrolls = frame.scrolls
            let micros = Double(end - start) / 1000
            if index == 0 { cold = micros } else {
                frameTimes.append(micros)
                snapshotTimes.append(Double(start - snapshotStart) / 1000)
            }
        }
        frameTimes.sort()
        snapshotTimes.sort()
        return Figures(
            width: width, height: height, failures: failures, frames: frames,
            medianMicroseconds: frameTimes[frameTimes.count / 2],
            p99Microseconds: frameTimes[min(frameTimes.count - 1, frameTimes.count * 99 / 100)],
            coldMicroseconds: cold, snapshotMedianMicroseconds: snapshotTimes[snapshotTimes.count / 2])
    }

    private static func seed(_ journal: FailureJournal, failures: Int, start: Double) throws {
        let models = ["shop.Product", "shop.Order", "shop.Review"]
        for index in 0..<failures {
            let batch = Batch(
                id: UInt64(index + 1), dispatcher: index % 2 == 0 ? "inline" : "threadpool", batchKey: "inline",
                model: models[index % 3], pk: .int(Int64(index % 997)), signal: .postSave,
                ruleIDs: ["product-detail-on-product"], restflowRuleIDs: [1],
                ruleKwargs: JSONObject([("product-detail-on-product", ["product_id": .int(Int64(index % 997))])]),
                createdAt: start - Double(failures - index))
            try journal.record(
                batch, error: BatchError(kind: .cache, message: "cache store timed out after 2000 ms"), attempts: 1,
                ruleFingerprints: [:], at: start - Double(failures - index))
        }
    }

    static let configurationText = """
        {
          "settings": { "default_dispatcher": "inline", "dispatchers": { "threadpool": { "max_workers": 2 } } },
          "functions": [
            { "name": "shop.views.product_detail", "key": { "namespace": "shop", "version": 1, "partition": ["product_id"] },
              "rules": [
                { "id": "product-detail-on-product", "model": "shop.Product", "field_mapping": { "product_id": "id" },
                  "watch_fields": ["price"], "dispatcher": "inline" } ] },
            { "name": "shop.views.product_list", "key": { "namespace": "shop", "version": 1, "partition": ["category_id"] },
              "rules": [
                { "id": "product-list-on-product", "model": "shop.Product", "field_mapping": { "category_id": "category.id" },
                  "dispatcher": "threadpool", "batch": true } ] }
          ]
        }
        """
}

/// The benchmark's clock, moved by hand so every frame shows a new second.
private final class BenchmarkClock: Sendable {
    private let seconds: Mutex<Double>
    init(_ start: Double) { seconds = Mutex(start) }
    var now: Double { seconds.withLock { $0 } }
    func advance(by delta: Double) { seconds.withLock { $0 += delta } }
}
