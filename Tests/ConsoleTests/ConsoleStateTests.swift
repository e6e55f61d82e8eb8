@testable import Console
@testable import Engine
import Foundation
import Testing

@Suite(.serialized) struct ConsoleStateTests {
    let fixture: EngineFixture
    let snapshot: EngineSnapshot

    init() throws {
        fixture = try EngineFixture.busyShop()
        snapshot = fixture.engine.snapshot()
    }

    func context(canWrite: Bool = true) -> ControlContext {
        ControlContext(
            now: snapshot.time, canWrite: canWrite, isDemoSource: true, models: fixture.rules.models,
            dispatcherNames: snapshot.dispatchers.map(\.name), faults: fixture.engine.faults.all,
            openFailures: snapshot.failures.open)
    }

    func press(_ keys: [Key], _ state: inout ConsoleState, canWrite: Bool = true) -> [ConsoleEffect] {
        var effects: [ConsoleEffect] = []
        for key in keys {
            let views = PaneViews(snapshot: snapshot, state: state)
            state.reconcile(with: views)
            effects += state.handle(key, views: views, context: context(canWrite: canWrite))
        }
        return effects
    }

    @Test func tabCyclesThePanes() {
        var state = ConsoleState()
        _ = press([.tab, .tab, .tab], &state)
        #expect(state.focus == .failures)
        _ = press([.tab], &state)
        #expect(state.focus == .dispatchers)
        _ = press([.backTab], &state)
        #expect(state.focus == .failures)
    }

    @Test func selectionMovesAndStopsAtTheEnds() {
        var state = ConsoleState()
        _ = press([.down, .character("j"), .down, .down, .down], &state)
        #expect(state.selectedIndex(.dispatchers) == 2)
        #expect(state.selections[.dispatchers]?.key == .dispatcher("threadpool"))
        _ = press([.character("g")], &state)
        #expect(state.selectedIndex(.dispatchers) == 0)
    }

    @Test func replayTakesTheMarkedFailures() {
        var state = ConsoleState()
        state.focus = .failures
        let effects = press([.character(" "), .character(" "), .character("r")], &state)
        let ids = snapshot.failures.rows.sorted { $0.lastFailedAt > $1.lastFailedAt || ($0.lastFailedAt == $1.lastFailedAt && $0.id > $1.id) }
            .prefix(2).map(\.id).sorted()
        #expect(effects == [.replay(ids)])
        #expect(state.marked.isEmpty)
        if case .replayProgress? = state.dialog {} else { Issue.record("the progress window did not open") }
    }

    @Test func replayIsRefusedWithoutWriteMode() {
        var state = ConsoleState()
        state.focus = .failures
        let effects = press([.character("r")], &state, canWrite: false)
        #expect(effects.isEmpty)
        #expect(state.status?.level == .error)
        #expect(state.status?.text.contains("--write") == true)
    }

    @Test func replayAllAsksFirst() {
        var state = ConsoleState()
        #expect(press([.character("R")], &state).isEmpty)
        if case .confirmReplayAll(let open)? = state.dialog {
            #expect(open == snapshot.failures.open)
        } else {
            Issue.record("no question was asked")
        }
        #expect(press([.character("y")], &state) == [.replayAll])
    }

    @Test func triggerFormDispatchesTheEvent() {
        var state = ConsoleState()
        _ = press([.character("t")], &state)
        // Models are sorted: shop.Order, shop.Product, shop.Review.
        _ = press([.right, .tab], &state)
        _ = press([.backspace, .character("4"), .character("2"), .tab, .tab, .character("p")], &state)
        let effects = press([.character("r"), .character("i"), .character("c"), .character("e"), .enter], &state)
        guard case .trigger(let event)? = effects.first else {
            Issue.record("no trigger: \(effects)")
            return
        }
        #expect(event.model == "shop.Product")
        #expect(event.pk == .int(42))
        #expect(event.updateFields == ["price"])
        #expect(event.fields["id"] == .int(42))
        #expect(state.dialog == nil)
    }

    @Test func faultFormSetsTheSelectedDispatcher() {
        var state = ConsoleState()
        _ = press([.down, .character("f")], &state)
        let effects = press([.tab, .character("3"), .character("0"), .tab, .character("5"), .enter], &state)
        #expect(effects == [.setFault("inline", FaultSetting(failurePercent: 30, addedLatencyMilliseconds: 5))])
    }

    @Test func filterAppliesWhileTypingAndEscRestores() {
        var state = ConsoleState()
        _ = press([.character("/")] + "model:order".map { Key.character($0) }, &state)
        #expect(state.filter.model == ["order"])
        let views = PaneViews(snapshot: snapshot, state: state)
        #expect(views.liveOrder.allSatisfy { views.live[$0].model == "shop.Order" })
        _ = press([.escape], &state)
        #expect(state.filter.isEmpty)
        #expect(state.filterDraft == nil)
    }

    @Test func sortCoversTheWholeDataSet() {
        var state = ConsoleState()
        state.focus = .failures
        _ = press([.character(">"), .character(">")], &state)
        #expect(state.sort(of: .failures).column == 3)
        let views = PaneViews(snapshot: snapshot, state: state)
        let names = views.failureOrder.map { views.failures[$0].dispatcher }
        #expect(names == names.sorted())
        _ = press([.character("i")], &state)
        #expect(state.sort(of: .failures).descending)
    }

    @Test func statusMessagesClearThemselves() {
        var state = ConsoleState()
        state.post("hello", now: 100)
        state.expireStatus(now: 105.9)
        #expect(state.status?.text == "hello")
        state.expireStatus(now: 106)
        #expect(state.status == nil)
    }

    @Test func selectionFollowsItsRow() {
        var state = ConsoleState()
        state.focus = .failures
        _ = press([.down, .down], &state)
        let key = state.selections[.failures]?.key
        var sorted = state
        sorted.sorts[.failures] = SortOrder(column: 1, descending: false)
        let views = PaneViews(snapshot: snapshot, state: sorted)
        sorted.reconcile(with: views)
        #expect(sorted.selections[.failures]?.key == key)
        #expect(views.key(.failures, at: sorted.selectedIndex(.failures)) == key)
    }
}

@Suite struct ValuePreviewTests {
    @Test func payloadThatIsNotJSONShowsItsType() {
        #expect(ValuePreview.payload(Array("{\"a\":1}".utf8), limit: 40) == "JSON, 7 bytes: {\"a\":1}")
        #expect(ValuePreview.payload(Array("hello\nworld".utf8), limit: 40) == "text (not JSON), 11 bytes: \"hello\\\\nworld\"")
        #expect(ValuePreview.payload([0x80, 0x04, 0x95, 0xFF], limit: 40) == "binary (not JSON), 4 bytes: 80 04 95 ff")
    }

    @Test func previewsAreBounded() {
        let long = String(repeating: "x", count: 10_000)
        #expect(ValuePreview.bounded(long, limit: 10).count == 11)
        #expect(ValuePreview.json(.array(Array(repeating: .int(1), count: 5000)), limit: 20).count == 21)
        #expect(ValuePreview.payload(Array(repeating: 0xFF, count: 10_000), limit: 30).count < 80)
    }

    @Test func controlCharactersAreEscaped() {
        #expect(ValuePreview.bounded("a\u{1B}b\tc", limit: nil) == "a\\u{1b}b\\tc")
    }
}

@Suite struct ConsoleOptionsTests {
    @Test func parsesTheConsoleFlags() throws {
        let (options, rest) = try ConsoleOptions.parse(["-d", "5", "--config", "x.json", "--no-color", "--ascii"])
        #expect(options == ConsoleOptions(refreshTenths: 5, noColor: true, ascii: true))
        #expect(rest == ["--config", "x.json"])
    }

    @Test func rejectsABadDelay() {
        #expect(throws: ConsoleOptionsError.invalidDelay("0")) { try ConsoleOptions.parse(["-d", "0"]) }
        #expect(throws: ConsoleOptionsError.missingValue("-d")) { try ConsoleOptions.parse(["-d"]) }
    }
}
