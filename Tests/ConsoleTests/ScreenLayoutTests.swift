import Brokers
@testable import Console
@testable import Engine
import Foundation
import Testing
import Synchronization

/// Frames during a broker outage: a Redis broker and cache that the
/// header must name with their labels, a DOWN broker and a waiting outbox.
@Suite(.serialized) struct BrokerOutageHeaderTests {
    static let brokerURL = "redis://127.0.0.1:17391/0"
    static let context = ScreenContext(
        brokerLabel: brokerURL, cacheLabel: "redis redis://127.0.0.1:17391/1", eventSourceLabel: "none",
        writeMode: .readOnly)
    static let refused = "Cannot connect to Redis at '\(brokerURL)': Connection refused. Check that Redis is running and the address is right."

    let fixture: EngineFixture
    let probe = FixedQueueProbe([])

    init() throws {
        fixture = try EngineFixture()
        fixture.engine.addQueueProbe(probe)
    }

    /// Samples the probe as the console's sampler does once a second.
    func sample(up: Bool, outbox: Int) {
        probe.set(status: BrokerStatus(label: Self.brokerURL, isUp: up, detail: up ? nil : Self.refused), outbox: outbox)
        fixture.engine.sampleQueues()
    }

    func frame(width: Int, height: Int = 30) -> ScreenGrid {
        let snapshot = ScreenModelGoldenTests.pinPoolSize(fixture.engine.snapshot())
        return ScreenModel.render(FrameInput(snapshot: snapshot, context: Self.context), width: width, height: height).grid
    }

    @Test(arguments: [100, 120, 200]) func wideHeaderKeepsNameAndLabels(width: Int) {
        sample(up: false, outbox: 313)
        let header = frame(width: width).text(row: 0)
        #expect(header.hasPrefix(" dispatchtop  broker: "), "\(header)")
        #expect(header.contains(" DOWN  cache: "), "\(header)")
        #expect(header.contains("outbox 313 waiting"), "\(header)")
        #expect(header.contains(" ro ") || header.contains("read-only"), "\(header)")
        #expect(!header.contains(" ob "), "\(header)")
    }

    @Test func consoleWithoutASourceSaysSo() {
        sample(up: true, outbox: 0)
        var context = Self.context
        context.hasSource = false
        let snapshot = ScreenModelGoldenTests.pinPoolSize(fixture.engine.snapshot())
        let header = ScreenModel.render(FrameInput(snapshot: snapshot, context: context), width: 120, height: 30).grid.text(row: 0)
        #expect(header.contains("no event source"), "\(header)")
        #expect(!header.contains("running"), "\(header)")
    }

    @Test func headerAt80ColumnsShortensTheLocations() {
        sample(up: false, outbox: 313)
        let header = frame(width: 80, height: 24).text(row: 0)
        #expect(header.hasPrefix(" broker: …/0 DOWN  cache: …/1  "), "\(header)")
        #expect(header.contains("outbox 313 waiting"), "\(header)")
        #expect(header.contains(" ro "), "\(header)")
    }

    @Test func outageFrame() {
        sample(up: false, outbox: 313)
        let grid = frame(width: 100)
        Golden.check(grid, "broker-down-100x30")
        // The reason is on the status line, cut with an ellipsis at this width.
        let status = grid.text(row: 28)
        #expect(status.hasPrefix(" broker DOWN: Cannot connect to Redis at '\(Self.brokerURL)'"), "\(status)")
        #expect(status.trimmingTrailingSpaces().hasSuffix("…"), "\(status)")
    }

    @Test func cacheDownIsMarkedAndExplained() throws {
        let cache = ReachabilityCacheStore(label: "redis redis://127.0.0.1:17391/1")
        let fixture = try EngineFixture(cache: cache)
        cache.set(status: CacheStatus(label: cache.label, isUp: false, detail: Self.refused))
        fixture.engine.sampleQueues()
        let snapshot = ScreenModelGoldenTests.pinPoolSize(fixture.engine.snapshot())
        func frame(width: Int, height: Int) -> ScreenGrid {
            ScreenModel.render(FrameInput(snapshot: snapshot, context: Self.context), width: width, height: height).grid
        }

        let wide = frame(width: 120, height: 30)
        #expect(wide.text(row: 0).contains("cache: 127.0.0.1:17391/1 DOWN"), "\(wide.text(row: 0))")
        #expect(wide.text(row: 28).hasPrefix(" cache DOWN: Cannot connect to Redis"), "\(wide.text(row: 28))")
        let narrow = frame(width: 60, height: 24).text(row: 0)
        #expect(narrow.contains("cache: …/1 DOWN"), "\(narrow)")
        // Where the cache's label is left out, the mark names the cache
        // itself, so it never reads as the broker's.
        var line = HeaderLine()
        line.add(.broker, LocationText.forms(Self.brokerURL).map { "broker: " + $0 })
        line.add(.cache, LocationText.forms("redis://127.0.0.1:17391/1").map { "cache: " + $0 } + [""])
        line.add(.cacheDown, ["DOWN", "cache DOWN"], attached: true)
        line.add(.outbox, ["outbox 3 waiting", "outbox 3"])
        let texts = line.fit(width: 30).map(\.text)
        #expect(texts == ["broker: …/0", "cache DOWN", "outbox 3"], "\(texts)")

        // With the broker down too, the status line gives both reasons.
        let brokerProbe = FixedQueueProbe([], status: BrokerStatus(label: Self.brokerURL, isUp: false, detail: "broker refused"))
        fixture.engine.addQueueProbe(brokerProbe)
        fixture.engine.sampleQueues()
        let both = ScreenModel.render(
            FrameInput(snapshot: fixture.engine.snapshot(), context: Self.context), width: 200, height: 30
        ).grid.text(row: 28)
        #expect(both.hasPrefix(" broker DOWN: broker refused · cache DOWN: Cannot connect to Redis"), "\(both)")
        brokerProbe.set(status: BrokerStatus(label: Self.brokerURL, isUp: true), outbox: 0)

        cache.set(status: CacheStatus(label: cache.label, isUp: true))
        fixture.engine.sampleQueues()
        let back = ScreenModel.render(
            FrameInput(snapshot: fixture.engine.snapshot(), context: Self.context), width: 120, height: 30
        ).grid
        #expect(!back.text(row: 0).contains("DOWN"), "\(back.text(row: 0))")
    }

    @Test func rejectedProbeMarksItsQueueRow() {
        var depth = QueueDepth(
            name: "django_rq:default", source: "redis LLEN queue", ready: nil, inFlight: 0, delayed: 0, failed: 0,
            readAt: EngineFixture.start)
        depth.probeError = "Redis rejected LLEN rq:queue:default: WRONGTYPE Operation against a key holding the wrong kind of value"
        depth.note = depth.probeError
        probe.set([depth])
        sample(up: true, outbox: 0)

        let grid = frame(width: 200, height: 60)
        let row = (0..<grid.height).map { grid.text(row: $0) }.first { $0.contains("django_rq:default") } ?? ""
        #expect(row.contains(" rejected "), "\(row)")
        #expect(row.contains(" ? "), "\(row)")
    }

    @Test func outboxCountFollowsTheSamples() {
        sample(up: false, outbox: 313)
        #expect(frame(width: 100).text(row: 0).contains("outbox 313 waiting"))
        sample(up: true, outbox: 213)
        let draining = frame(width: 100).text(row: 0)
        #expect(draining.contains("outbox 213 waiting"), "\(draining)")
        #expect(!draining.contains("DOWN"), "\(draining)")
        sample(up: true, outbox: 0)
        let drained = frame(width: 100).text(row: 0)
        #expect(!drained.contains("outbox"), "\(drained)")
        #expect(drained.contains("broker: 127.0.0.1:17391/0  cache: 127.0.0.1:17391/1"), "\(drained)")
    }

    @Test func embeddedHeaderAt80ColumnsKeepsTheCacheLabel() {
        let context = ScreenContext(brokerLabel: "embedded", cacheLabel: "memory", eventSourceLabel: "demo 40/s")
        let header = ScreenModel.render(FrameInput(snapshot: fixture.engine.snapshot(), context: context), width: 80, height: 24)
            .grid.text(row: 0)
        #expect(header.contains("broker: embedded  cache: memory"), "\(header)")
        #expect(header.contains("demo 40/s"), "\(header)")
    }

    @Test func locationFormsShortenInFixedSteps() {
        #expect(LocationText.forms("redis://:***@127.0.0.1:6380/2") == [
            "redis://:***@127.0.0.1:6380/2", ":***@127.0.0.1:6380/2", "…:6380/2", "…/2",
        ])
        #expect(LocationText.forms("embedded") == ["embedded", "embedded", "embedded", "embedded"])
        #expect(LocationText.display("redis redis://127.0.0.1:6380/1") == "redis://127.0.0.1:6380/1")
        #expect(LocationText.display("memory") == "memory")
    }
}

/// Widths, wrapping and marks that the golden frames do not pin down.
@Suite(.serialized) struct ScreenLayoutTests {
    let fixture: EngineFixture

    init() throws {
        fixture = try EngineFixture.busyShop()
    }

    func frame(_ snapshot: EngineSnapshot, state: ConsoleState = ConsoleState(), replay: ReplayJobStatus? = nil,
               width: Int, height: Int) -> ScreenGrid {
        ScreenModel.render(
            FrameInput(snapshot: ScreenModelGoldenTests.pinPoolSize(snapshot), state: state,
                       context: ScreenModelGoldenTests.context, replay: replay),
            width: width, height: height
        ).grid
    }

    @Test(arguments: [(80, 24), (120, 30)]) func batchIDsAreNeverCut(width: Int, height: Int) {
        var snapshot = fixture.engine.snapshot()
        for index in snapshot.liveBatches.indices { snapshot.liveBatches[index].id += 1_234_500 }
        for index in snapshot.failures.rows.indices { snapshot.failures.rows[index].batchID += 1_234_500 }
        var state = ConsoleState()
        state.focus = .failures
        let text = frame(snapshot, state: state, width: width, height: height).text
        let top = snapshot.liveBatches.map(\.id).max() ?? 0
        #expect(text.contains("#\(top) "), "Live batches cut #\(top):\n\(text)")
        let failed = snapshot.failures.rows.map(\.batchID).max() ?? 0
        #expect(text.contains("#\(failed) "), "Failures cut #\(failed):\n\(text)")
        #expect(!text.contains("#1234…"))
    }

    @Test func footerAt80x24ShowsHelp() {
        let footer = frame(fixture.engine.snapshot(), width: 80, height: 24).text(row: 23)
        #expect(footer.contains("? help"), "\(footer)")
        #expect(footer.hasPrefix(" q quit"), "\(footer)")
    }

    @Test func footerAt60ColumnsKeepsQuitAndHelp() {
        let footer = frame(fixture.engine.snapshot(), width: 60, height: 15).text(row: 14)
        #expect(footer.contains("q quit"), "\(footer)")
        #expect(footer.contains("? help"), "\(footer)")
    }

    @Test func tooSmallKeepsTheWayOut() {
        let grid = frame(fixture.engine.snapshot(), width: 20, height: 5)
        Golden.check(grid, "too-small-20x5")
        let words = grid.text.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        #expect(words.contains("press q to quit."), "\(grid.text)")
        #expect(words.contains("Terminal too small"), "\(grid.text)")
    }

    @Test func sortMarkShowsOnTheMarksColumn() {
        var state = ConsoleState()
        state.focus = .failures
        state.sorts[.failures] = SortOrder(column: 0, descending: false)
        let grid = frame(fixture.engine.snapshot(), state: state, width: 80, height: 24)
        let titles = grid.text(row: 13)
        #expect(titles.hasPrefix("│ ▲ TIME"), "\(titles)")
        #expect(grid.text(row: 12).contains("sort RESOLVED▲"), "\(grid.text(row: 12))")
    }

    @Test func hiddenSortColumnIsNamedInTheTitle() throws {
        var state = ConsoleState()
        state.focus = .failures
        state.sorts[.failures] = SortOrder(column: 3, descending: false)
        let grid = frame(fixture.engine.snapshot(), state: state, width: 60, height: 15)
        let rows = (0..<grid.height).map { grid.text(row: $0) }
        let titleRow = try #require(rows.firstIndex { $0.contains("Failures") })
        #expect(!rows[titleRow + 1].contains("DISPATCHER"), "the column is hidden at 60x15: \(rows[titleRow + 1])")
        #expect(rows[titleRow].contains("sort DISPATCHER▲"), "\(rows[titleRow])")
    }

    @Test func shownSortColumnIsNotNamedAgain() {
        let grid = frame(fixture.engine.snapshot(), width: 120, height: 30)
        let title = (0..<grid.height).map { grid.text(row: $0) }.first { $0.contains("Failures") } ?? ""
        #expect(!title.contains("sort "), "\(title)")
        #expect(grid.text.contains("TIME▼"))
    }

    @Test func liveBatchOrderIsNamed() {
        let grid = frame(fixture.engine.snapshot(), width: 100, height: 30)
        let title = (0..<grid.height).map { grid.text(row: $0) }.first { $0.contains("Live batches") } ?? ""
        #expect(title.contains("in flight first"), "\(title)")
    }

    @Test func liveBatchesSayRetryingLikeFailures() throws {
        var batch = try #require(fixture.engine.snapshot().liveBatches.first)
        batch.state = .retrying
        let context = CellContext(now: EngineFixture.start, glyphs: .unicode, ascii: false)
        #expect(LiveBatchesPane.cells(batch, context).last == FailureStatus.retrying.rawValue)
    }

    @Test func replayWindowWrapsLongOutcomes() throws {
        var state = ConsoleState()
        state.dialog = .replayProgress
        let detail = "the broker is still retrying it, so replaying it now would run it twice; wait until it is dead-lettered"
        let job = ReplayJobStatus(
            title: "Replay of failure 189", completed: 1, total: 1,
            last: ReplayItem(journalID: 189, dispatcher: "dramatiq", outcome: .skipped(detail)))
        let grid = frame(fixture.engine.snapshot(), state: state, replay: job, width: 120, height: 30)
        let rows = (0..<grid.height).map { Array(grid.text(row: $0)) }
        let top = try #require(rows.firstIndex { String($0).contains("┌─ Replay ") })
        let left = try #require(rows[top].firstIndex(of: "┌"))
        let right = try #require(rows[top].lastIndex(of: "┐"))
        let bottom = try #require(rows.indices.first { $0 > top && rows[$0][left] == "└" })
        let inside = rows[(top + 1)..<bottom].map { String($0[(left + 1)..<right]) }
        let words = inside.joined(separator: " ").split(whereSeparator: \.isWhitespace).joined(separator: " ")
        #expect(words.contains("last: entry 189 via dramatiq skipped: " + detail), "\(inside.joined(separator: "\n"))")
        let cut = inside.filter { $0.contains("…") && !$0.contains("Running…") }
        #expect(cut.isEmpty, "\(inside.joined(separator: "\n"))")
    }

    @Test func longStatusWrapsOntoTwoRows() {
        var state = ConsoleState()
        state.post(
            "Fields must be a JSON object such as {\"id\": 7, \"category\": {\"id\": 2}}, and this one is not valid JSON at all.",
            level: .error, now: fixture.engine.snapshot().time)
        let grid = frame(fixture.engine.snapshot(), state: state, width: 80, height: 24)
        let first = grid.text(row: 21)
        let second = grid.text(row: 22)
        #expect(first.hasPrefix(" error: Fields must be a JSON object"), "\(first)")
        #expect(second.trimmingTrailingSpaces().hasSuffix("and this one is not valid JSON at all."), "\(second)")
    }

    @Test func statusLongerThanTwoRowsEndsInAnEllipsis() {
        var state = ConsoleState()
        state.post(String(repeating: "The cache store refused the write. ", count: 8), level: .error, now: fixture.engine.snapshot().time)
        let grid = frame(fixture.engine.snapshot(), state: state, width: 80, height: 24)
        #expect(grid.text(row: 21).hasPrefix(" error: The cache store refused"), "\(grid.text(row: 21))")
        #expect(grid.text(row: 22).trimmingTrailingSpaces().hasSuffix("…"), "\(grid.text(row: 22))")
    }

    @Test func batchDetailShowsFullValuesWithV() throws {
        var batch = try #require(fixture.engine.snapshot().liveBatches.first)
        batch.error = String(repeating: "cache store refused the write ", count: 12) + "END-OF-ERROR"
        var state = ConsoleState()
        state.dialog = .detail(.batch(batch), scroll: 0, fullValues: false)
        let preview = frame(fixture.engine.snapshot(), state: state, width: 100, height: 40).text
        #expect(!preview.contains("END-OF-ERROR"))
        #expect(preview.contains("v shows full values"))
        state.dialog = .detail(.batch(batch), scroll: 0, fullValues: true)
        let full = frame(fixture.engine.snapshot(), state: state, width: 100, height: 40).text
        #expect(full.contains("END-OF-ERROR"), "\(full)")
    }

    @Test func demoRateReturnsExactlyToItsStart() {
        let pump = EventPump(engine: fixture.engine, kind: .demo(rate: 40, seed: 1))
        var messages: [String] = []
        for _ in 0..<20 { messages.append(ConsoleApp.adjustRate(pump, faster: true)) }
        #expect(pump.rate <= EventPump.maximumRate)
        #expect(pump.rate == 40 * 4096)
        #expect(messages.last == "The demo rate is at its highest step, 163.8k events/s.")
        for _ in 0..<12 { _ = ConsoleApp.adjustRate(pump, faster: false) }
        #expect(pump.rate == 40)
        for _ in 0..<20 { messages.append(ConsoleApp.adjustRate(pump, faster: false)) }
        #expect(pump.rate == 1.25)
        #expect(messages.last == "The demo rate is at its lowest step, 1.3 events/s.")
        for _ in 0..<5 { _ = ConsoleApp.adjustRate(pump, faster: true) }
        #expect(pump.rate == 40)
    }

    @Test func demoRateSaysEventInTheSingular() {
        #expect(DemoRate.text(1) == "1 event/s")
        #expect(DemoRate.text(40) == "40 events/s")
        #expect(DemoRate.text(2.5) == "2.5 events/s")
    }
}

/// A memory cache store whose reachability a test sets.
final class ReachabilityCacheStore: CacheStore {
    let label: String
    private let store = MemoryCacheStore()
    private let current = Mutex<CacheStatus?>(nil)

    init(label: String) {
        self.label = label
    }

    func set(status: CacheStatus) {
        current.withLock { $0 = status }
    }

    var status: CacheStatus? { current.withLock { $0 } }
    var entryCount: Int? { store.entryCount }

    func set(_ key: String, _ value: [UInt8]) throws(CacheStoreError) { try store.set(key, value) }
    func get(_ key: String) throws(CacheStoreError) -> [UInt8]? { try store.get(key) }
    @discardableResult func delete(_ key: String) throws(CacheStoreError) -> Bool { try store.delete(key) }
    @discardableResult func deletePrefix(_ prefix: String) throws(CacheStoreError) -> Int { try store.deletePrefix(prefix) }
}
