import Engine
import Foundation
import Synchronization
import TestSupport

/// A clock tests move by hand, so every time on screen is fixed.
final class ManualClock: Sendable {
    private let seconds: Mutex<Double>

    init(_ start: Double) {
        seconds = Mutex(start)
    }

    var now: Double { seconds.withLock { $0 } }

    func advance(by delta: Double) {
        seconds.withLock { $0 += delta }
    }
}

/// Queue readings given by the test: the input data of the Queues pane,
/// with the broker status a real probe would report.
final class FixedQueueProbe: QueueProbe {
    let readings: Mutex<[QueueDepth]>
    let status: Mutex<BrokerStatus?>
    let outbox = Mutex(0)

    init(_ readings: [QueueDepth], status: BrokerStatus? = nil) {
        self.readings = Mutex(readings)
        self.status = Mutex(status)
    }

    func readDepths() -> [QueueDepth] { readings.withLock { $0 } }
    var brokerStatus: BrokerStatus? { status.withLock { $0 } }
    var outboxWaiting: Int { outbox.withLock { $0 } }

    func set(_ readings: [QueueDepth]) {
        self.readings.withLock { $0 = readings }
    }

    /// Sets what the next sample reads: the broker's reachability and the outbox count.
    func set(status: BrokerStatus?, outbox: Int) {
        self.status.withLock { $0 = status }
        self.outbox.withLock { $0 = outbox }
    }
}

/// A real engine on the in-process dispatchers with a manual clock and a
/// journal in a fresh folder, driven step by step so its snapshots are the
/// same on every run.
final class EngineFixture {
    /// 2026-12-04 12:00:00 UTC.
    static let start = 1_796_299_200.0
    static let configuration = """
        {
          "settings": { "default_dispatcher": "inline", "dispatchers": { "threadpool": { "max_workers": 2 } } },
          "functions": [
            { "name": "shop.views.product_detail", "key": { "namespace": "shop", "version": 1, "partition": ["product_id"] },
              "rules": [
                { "id": "product-detail-on-product", "model": "shop.Product", "field_mapping": { "product_id": "id" },
                  "watch_fields": ["title", "price"], "dispatcher": "inline" },
                { "id": "product-detail-on-review", "model": "shop.Review", "field_mapping": { "product_id": "product.id" },
                  "trigger_on_create": true, "dispatcher": "threadpool", "batch": true } ] },
            { "name": "shop.views.product_list", "key": { "namespace": "shop", "version": 1, "partition": ["category_id"] },
              "rules": [
                { "id": "product-list-on-product", "model": "shop.Product", "field_mapping": { "category_id": "category.id" },
                  "trigger_on_create": true, "dispatcher": "threadpool", "batch": true } ] },
            { "name": "shop.views.order_status", "key": { "namespace": "shop", "version": 1, "partition": ["order_id"] },
              "rules": [
                { "id": "order-status-on-order", "model": "shop.Order", "field_mapping": { "order_id": "id" },
                  "trigger_on_create": true, "dispatcher": "asyncio" } ] }
          ]
        }
        """

    let clock = ManualClock(start)
    let folder: TemporaryDirectory
    let engine: Engine
    let journal: FailureJournal
    let rules: RuleSet

    init(cache: any CacheStore = MemoryCacheStore()) throws {
        folder = try TemporaryDirectory(prefix: "console-fixture")
        let configuration = try ConfigurationLoader.parse(Self.configuration)
        let registry = DispatcherRegistry.withInProcessDispatchers()
        rules = try RuleSet.compile(configuration, registry: registry)
        journal = try FailureJournal(path: folder.file("journal.sqlite3"))
        let clock = self.clock
        engine = Engine(
            rules: rules, registry: registry, cache: CacheContext(store: cache), journal: journal,
            clock: { clock.now })
    }

    deinit {
        folder.remove()
    }

    static func productSave(pk: Int64, fields: [String] = ["price"]) -> ChangeEvent {
        ChangeEvent(
            model: "shop.Product", pk: .int(pk), signal: .postSave, updateFields: fields,
            fields: JSONObject([("id", .int(pk)), ("category", ["id": .int(pk % 3 + 1)])]))
    }

    static func orderCreate(pk: Int64) -> ChangeEvent {
        ChangeEvent(model: "shop.Order", pk: .int(pk), signal: .postSave, created: true, fields: JSONObject([("id", .int(pk))]))
    }

    /// Processes `event` and waits for every batch to end, then moves the clock on.
    ///
    /// The event is processed on a thread of its own: called from a test's
    /// task, the asyncio dispatcher would start a Swift task that the
    /// blocked cooperative threads could never run.
    func process(_ event: ChangeEvent, advance: Double = 0.5) {
        let engine = self.engine
        let finished = DispatchSemaphore(value: 0)
        Thread {
            engine.process(event)
            _ = engine.waitUntilIdle(timeout: 10)
            finished.signal()
        }.start()
        finished.wait()
        clock.advance(by: advance)
    }

    /// Builds a busy shop: saves and creates on every dispatcher, inline
    /// failures from an injected fault, one of them resolved by a replay,
    /// and two queues with a minute of history.
    static func busyShop() throws -> EngineFixture {
        let fixture = try EngineFixture()
        for pk in Int64(1)...12 {
            fixture.process(productSave(pk: pk))
            fixture.process(orderCreate(pk: 100 + pk))
        }
        fixture.engine.faults.set(FaultSetting(failurePercent: 100, addedLatencyMilliseconds: 0), for: "inline")
        for pk in Int64(20)...24 {
            fixture.process(productSave(pk: pk))
        }
        fixture.engine.faults.set(FaultSetting(failurePercent: 0, addedLatencyMilliseconds: 0), for: "inline")
        let first = fixture.journal.listing().rows.first!.id
        _ = Replayer(engine: fixture.engine).replay(ids: [first], options: ReplayOptions(ratePerSecond: nil))
        fixture.engine.faults.set(FaultSetting(failurePercent: 25, addedLatencyMilliseconds: 40), for: "threadpool")
        try fixture.sampleQueues()
        return fixture
    }

    /// Sixty one-second samples of two queues, the last read 2 s before the snapshot.
    func sampleQueues() throws {
        let probe = FixedQueueProbe([], status: BrokerStatus(label: "embedded", isUp: true))
        engine.addQueueProbe(probe)
        for second in 0..<60 {
            let time = clock.now
            probe.set([
                QueueDepth(
                    name: "celery:cache-invalidation", source: "embedded", ready: (second * 7) % 40, inFlight: 2,
                    delayed: 1, failed: 3, readAt: time),
                QueueDepth(
                    name: "django_rq:default", source: "embedded", ready: second < 30 ? 0 : second - 30, inFlight: nil,
                    delayed: nil, failed: 0, readAt: time, note: "failures live in the Django database"),
            ])
            engine.sampleQueues()
            clock.advance(by: 1)
        }
        clock.advance(by: 1)
    }
}
