import Brokers
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

    func press(
        _ keys: [Key], _ state: inout ConsoleState, canWrite: Bool = true, on shown: EngineSnapshot? = nil
    ) -> [ConsoleEffect] {
        var effects: [ConsoleEffect] = []
        for key in keys {
            let views = PaneViews(snapshot: shown ?? snapshot, state: state)
            state.reconcile(with: views)
            effects += state.handle(key, views: views, context: context(canWrite: canWrite))
        }
        return effects
    }

    /// Opens the detail view of the Failures pane's top row, as Enter and
    /// the journal read that follows it do; returns the entry's id.
    func openTopFailure(_ state: inout ConsoleState) throws -> Int64 {
        state.focus = .failures
        let effects = press([.character("g"), .enter], &state)
        guard case .loadFailureDetail(let id)? = effects.first else {
            Issue.record("Enter did not read a journal entry: \(effects)")
            return -1
        }
        let record = try #require(try fixture.journal.entry(id))
        state.dialog = .detail(.failure(FailureDetail(record: record, replays: [])), scroll: 0, fullValues: false)
        return id
    }

    /// Journals a failure newer than every other, so it becomes the Failures pane's top row.
    func addNewerFailure() throws -> EngineSnapshot {
        fixture.engine.faults.set(FaultSetting(failurePercent: 100, addedLatencyMilliseconds: 0), for: "inline")
        fixture.process(EngineFixture.productSave(pk: 99))
        fixture.engine.faults.set(FaultSetting(failurePercent: 0, addedLatencyMilliseconds: 0), for: "inline")
        return fixture.engine.snapshot()
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

    @Test func detailReplayTakesTheEntryShown() throws {
        var state = ConsoleState()
        let shown = try openTopFailure(&state)
        let newer = try addNewerFailure()
        #expect(newer.failures.rows.max { $0.lastFailedAt < $1.lastFailedAt }?.id != shown)
        let effects = press([.character("r")], &state, on: newer)
        #expect(effects == [.replay([shown])])
    }

    @Test func detailReplayIgnoresTheMarks() throws {
        var state = ConsoleState()
        state.focus = .failures
        _ = press([.character("G"), .character(" ")], &state)
        let marked = state.marked
        let shown = try openTopFailure(&state)
        #expect(!marked.contains(shown))
        let effects = press([.character("r")], &state)
        #expect(effects == [.replay([shown])])
        #expect(state.marked == marked, "replaying the entry shown keeps the marks for a later replay")
    }

    @Test func detailReplayWhileLoadingTakesTheEntryShown() throws {
        var state = ConsoleState()
        state.focus = .failures
        let opened = press([.enter], &state)
        guard case .loadFailureDetail(let shown)? = opened.first else {
            Issue.record("Enter did not read a journal entry: \(opened)")
            return
        }
        let effects = press([.character("r")], &state, on: try addNewerFailure())
        #expect(effects == [.replay([shown])])
    }

    @Test func replayIsRefusedWithoutWriteMode() {
        var state = ConsoleState()
        state.focus = .failures
        let effects = press([.character("r")], &state, canWrite: false)
        #expect(effects.isEmpty)
        #expect(state.status?.level == .error)
        #expect(state.status?.text.contains("--write") == true)
    }

    @Test func readOnlyRefusalNamesTheCacheForAnInProcessFailure() {
        var state = ConsoleState()
        state.focus = .failures
        // Every failure in the fixture is on the inline dispatcher, which writes to the cache.
        _ = press([.character("r")], &state, canWrite: false)
        let text = state.status?.text ?? ""
        #expect(text.contains("writes to the memory cache;"), "\(text)")
        #expect(!text.contains("broker"), "\(text)")
        #expect(text.contains("--write"), "\(text)")
    }

    @Test func readOnlyRefusalNamesTheBrokerForABrokerFailure() {
        var state = ConsoleState()
        var listed = snapshot
        for index in listed.failures.rows.indices { listed.failures.rows[index].dispatcher = "celery" }
        let targets = WriteTargets(brokerLabel: "redis://127.0.0.1:6390/0", cacheLabel: "memory", ruleDispatchers: ["celery"])
        var readOnly = context(canWrite: false)
        readOnly.writeTargets = targets
        for key: Key in [.character("t"), .tab, .tab, .tab, .character("r"), .character("R")] {
            let views = PaneViews(snapshot: listed, state: state)
            state.reconcile(with: views)
            state.status = nil
            _ = state.handle(key, views: views, context: readOnly)
            guard let status = state.status, key != .tab else { continue }
            #expect(status.level == .error)
            #expect(status.text.contains("writes to the broker redis://127.0.0.1:6390/0;"), "\(status.text)")
            #expect(!status.text.contains("cache"), "\(status.text)")
            #expect(status.text.contains("restart with --write"), "\(status.text)")
        }
        #expect(state.dialog == nil)
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

    @Test func faultFormReplacesThePrefilledNumber() {
        fixture.engine.faults.set(FaultSetting(failurePercent: 40, addedLatencyMilliseconds: 250), for: "inline")
        var state = ConsoleState()
        _ = press([.down, .character("f"), .tab, .character("0"), .tab, .character("7"), .character("5")], &state)
        let effects = press([.enter], &state)
        #expect(effects == [.setFault("inline", FaultSetting(failurePercent: 0, addedLatencyMilliseconds: 75))])
    }

    @Test func faultFormOpensOnTheFaultInForce() {
        let current = ["threadpool": FaultSetting(failurePercent: 0, addedLatencyMilliseconds: 300)]
        let names = ["asyncio", "inline", "threadpool"]
        #expect(FaultForm(dispatchers: names, selected: nil, current: current).dispatcher == "threadpool")
        #expect(FaultForm(dispatchers: names, selected: "inline", current: current).dispatcher == "inline")
        #expect(FaultForm(dispatchers: names, selected: nil, current: [:]).dispatcher == "asyncio")
        let off = ["threadpool": FaultSetting(failurePercent: 0, addedLatencyMilliseconds: 0)]
        #expect(FaultForm(dispatchers: names, selected: nil, current: off).dispatcher == "asyncio")
    }

    @Test func faultFormBackspaceClearsTheSelectedNumber() {
        fixture.engine.faults.set(FaultSetting(failurePercent: 40, addedLatencyMilliseconds: 0), for: "inline")
        var state = ConsoleState()
        _ = press([.down, .character("f"), .tab, .backspace, .character("5")], &state)
        #expect(press([.enter], &state) == [.setFault("inline", FaultSetting(failurePercent: 5, addedLatencyMilliseconds: 0))])
    }

    @Test func triggerFormReplacesThePrefilledKey() {
        var state = ConsoleState()
        _ = press([.character("t"), .right, .tab, .character("5"), .character("1")], &state)
        guard case .trigger(let event)? = press([.enter], &state).first else {
            Issue.record("no trigger")
            return
        }
        #expect(event.pk == .int(51))
    }

    @Test func triggerFormAppendsAfterTheFirstKey() {
        var state = ConsoleState()
        // Leaving the field and coming back selects it again.
        _ = press([.character("t"), .right, .tab, .character("5"), .tab, .backTab, .character("6")], &state)
        guard case .trigger(let form)? = state.dialog else {
            Issue.record("the form closed")
            return
        }
        #expect(form.pk == "6")
        _ = press([.character("0")], &state)
        guard case .trigger(let edited)? = state.dialog else { return }
        #expect(edited.pk == "60")
    }

    @Test func faultFormSetsTheSelectedDispatcher() {
        var state = ConsoleState()
        _ = press([.down, .character("f")], &state)
        let effects = press([.tab, .character("3"), .character("0"), .tab, .character("5"), .enter], &state)
        #expect(effects == [.setFault("inline", FaultSetting(failurePercent: 30, addedLatencyMilliseconds: 5))])
    }

    @Test func filterAppliesOnceTypingPausesAndEscRestores() {
        var state = ConsoleState()
        _ = press([.character("/")] + "model:order".map { Key.character($0) }, &state)
        // Typing alone re-filters nothing; the line applies after the pause.
        #expect(state.filter.isEmpty)
        #expect(state.filterDraft == "model:order")
        let appliedEarly = state.applyDueFilter(now: snapshot.time + ConsoleState.filterDelay / 2)
        #expect(!appliedEarly)
        #expect(state.filter.isEmpty)
        let appliedAfterPause = state.applyDueFilter(now: snapshot.time + ConsoleState.filterDelay)
        #expect(appliedAfterPause)
        #expect(state.filter.model == ["order"])
        let views = PaneViews(snapshot: snapshot, state: state)
        #expect(views.liveOrder.allSatisfy { views.live[$0].model == "shop.Order" })
        _ = press([.escape], &state)
        #expect(state.filter.isEmpty)
        #expect(state.filterDraft == nil)
    }

    @Test func filterEnterAppliesAtOnce() {
        var state = ConsoleState()
        _ = press([.character("/")] + "model:order".map { Key.character($0) } + [.enter], &state)
        #expect(state.filter.model == ["order"])
        #expect(state.filterDraft == nil)
        #expect(state.filterDue == nil)
    }

    @Test func filterKeysPostponeTheFilter() {
        var state = ConsoleState()
        _ = press([.character("/"), .character("m")], &state)
        let firstDue = state.filterDue
        #expect(firstDue != nil)
        // The context's clock does not move between these keys, so the due
        // time stays one delay after the last key.
        _ = press([.character("o")], &state)
        #expect(state.filterDue == firstDue)
        #expect(state.filterDue == snapshot.time + ConsoleState.filterDelay)
    }

    @Test func controlUClearsTheFilterLine() {
        var state = ConsoleState()
        _ = press([.character("/")] + "dispatcher:inline".map { Key.character($0) } + [.clearLine], &state)
        #expect(state.filterDraft == "")
        _ = press("model:order".map { Key.character($0) } + [.enter], &state)
        #expect(state.filter.text == "model:order")
    }

    @Test func controlUClearsAFormField() {
        var state = ConsoleState()
        _ = press([.character("t"), .down], &state)
        _ = press([.character("4"), .character("2"), .clearLine, .character("7")], &state)
        guard case .trigger(let form)? = state.dialog else {
            Issue.record("the trigger form is not open: \(String(describing: state.dialog))")
            return
        }
        #expect(form.pk == "7")
        _ = press([.escape, .character("f"), .tab, .clearLine], &state)
        guard case .faults(let faults)? = state.dialog else {
            Issue.record("the fault form is not open: \(String(describing: state.dialog))")
            return
        }
        #expect(faults.failurePercent == "")
    }

    @Test func cleanFilterClearsTheOldWarning() {
        var state = ConsoleState()
        _ = press([.character("/")] + "colour:red".map { Key.character($0) } + [.enter], &state)
        #expect(state.status?.level == .warning)
        #expect(state.status?.text.contains("'colour:'") == true)
        _ = press([.character("/")] + Array(repeating: Key.backspace, count: 10) + "model:order".map { Key.character($0) } + [.enter], &state)
        #expect(state.filter.model == ["order"])
        #expect(state.status == nil)
    }

    @Test func cleanFilterKeepsOtherMessages() {
        var state = ConsoleState()
        state.post("Cleared 2 marks.", now: snapshot.time)
        _ = press([.character("/")] + "model:order".map { Key.character($0) } + [.enter], &state)
        #expect(state.status?.text == "Cleared 2 marks.")
    }

    @Test func unknownStateListsTheStates() {
        var state = ConsoleState()
        _ = press([.character("/")] + "state:bogus".map { Key.character($0) } + [.enter], &state)
        let text = state.status?.text ?? ""
        #expect(state.status?.level == .warning)
        #expect(text.contains("'bogus'"), "\(text)")
        for word in ["queued", "running", "retrying", "outbox", "sent", "done", "failed", "dead", "open", "resolved"] {
            #expect(text.contains(word), "the warning lacks \(word): \(text)")
        }
    }

    @Test func partialStateIsAccepted() {
        var state = ConsoleState()
        _ = press([.character("/")] + "state:retry".map { Key.character($0) } + [.enter], &state)
        #expect(state.status == nil)
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

    @Test func rqJobDataShowsThePythonCall() throws {
        let call = PickleValue.tuple([
            .string("restflow.caching.tasks.run_cache_rules"), .none, .tuple([.list([.int(1)])]),
            .dict([PickleEntry(.string("dispatcher_name"), .string("django_rq"))]),
        ])
        let data = Zlib.compress(PickleEncoder.encode(call))
        let unpacked = PickleEncoder.encode(call).count
        #expect(ValuePreview.payload(data, limit: 200) == """
            zlib of pickle, \(data.count) bytes, \(unpacked) unpacked: \
            restflow.caching.tasks.run_cache_rules([1], dispatcher_name='django_rq')
            """)
        // Cut to the limit like every other preview.
        #expect(ValuePreview.payload(data, limit: 10).hasSuffix(": restflow.c…"))
    }

    @Test func pickleAndZlibAloneAreDecodedToo() {
        let pickle = PickleEncoder.encode(.dict([PickleEntry(.string("pk"), .int(7))]))
        #expect(ValuePreview.payload(pickle, limit: 80) == "pickle, \(pickle.count) bytes: {'pk': 7}")
        let json = Zlib.compress(Array("[\"a\",1]".utf8))
        #expect(ValuePreview.payload(json, limit: 80) == "zlib of JSON, \(json.count) bytes, 7 unpacked: [\"a\",1]")
        let text = Zlib.compress(Array("not json".utf8))
        #expect(ValuePreview.payload(text, limit: 80) == "zlib of text, \(text.count) bytes, 8 unpacked: \"not json\"")
    }

    @Test func brokenZlibOrPickleFallsBackToHex() {
        // A zlib header with a cut stream, and a PROTO opcode with nothing after it.
        #expect(ValuePreview.payload([0x78, 0x9C, 0x01], limit: 40) == "binary (not JSON), 3 bytes: 78 9c 01")
        #expect(ValuePreview.payload([0x80, 0x05], limit: 40) == "binary (not JSON), 2 bytes: 80 05")
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
