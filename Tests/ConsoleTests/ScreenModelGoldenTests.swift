import Brokers
@testable import Console
@testable import Engine
import Foundation
import Testing

@Suite(.serialized) struct ScreenModelGoldenTests {
    static let context = ScreenContext(
        brokerLabel: "embedded", cacheLabel: "memory", eventSourceLabel: "demo 40/s", writeMode: .embedded)

    func frame(_ snapshot: EngineSnapshot, state: ConsoleState = ConsoleState(), context: ScreenContext = context,
               replay: ReplayJobStatus? = nil, width: Int, height: Int) -> ScreenGrid {
        ScreenModel.render(
            FrameInput(snapshot: Self.pinPoolSize(snapshot), state: state, context: context, replay: replay),
            width: width, height: height
        ).grid
    }

    /// Pins the thread pool's "runs on" text. The pool is process-wide and
    /// sized by whichever test in the process used it first, so its size
    /// would make frames depend on the order tests run in.
    static func pinPoolSize(_ snapshot: EngineSnapshot) -> EngineSnapshot {
        var pinned = snapshot
        for index in pinned.dispatchers.indices where pinned.dispatchers[index].name == "threadpool" {
            pinned.dispatchers[index].runsOn = "pool of N threads"
        }
        return pinned
    }

    @Test func busyShopAt80x24() throws {
        let fixture = try EngineFixture.busyShop()
        let grid = frame(fixture.engine.snapshot(), width: 80, height: 24)
        Golden.check(grid, "busy-shop-80x24")
        #expect(grid.text.contains("Dispatchers"))
        #expect(grid.text.contains("celery:ca"))
        #expect(grid.text.contains("resolved"))
    }

    @Test func busyShopAt160x48() throws {
        let fixture = try EngineFixture.busyShop()
        let grid = frame(fixture.engine.snapshot(), width: 160, height: 48)
        Golden.check(grid, "busy-shop-160x48")
        #expect(grid.text.contains("SOURCE"))
        #expect(grid.text.contains("RULES"))
    }

    @Test func busyShopInASCII() throws {
        let fixture = try EngineFixture.busyShop()
        var context = Self.context
        context.ascii = true
        let grid = frame(fixture.engine.snapshot(), context: context, width: 80, height: 24)
        Golden.check(grid, "busy-shop-ascii-80x24")
        #expect(grid.cells.allSatisfy { $0.character.isASCII })
    }

    @Test func emptyEngine() throws {
        let fixture = try EngineFixture()
        let grid = frame(fixture.engine.snapshot(), width: 80, height: 24)
        Golden.check(grid, "empty-80x24")
        #expect(grid.text.contains("No failures journalled."))
        #expect(grid.text.contains("No broker queues are watched."))
    }

    @Test func wideCharactersAndLongValues() throws {
        let fixture = try EngineFixture()
        let batch = Batch(
            id: 77, dispatcher: "inline", batchKey: "inline", model: "商品.Product", pk: .string("日本語のキー🚀"),
            signal: .postSave, ruleIDs: ["product-detail-on-product"], restflowRuleIDs: [1],
            ruleKwargs: JSONObject([("product-detail-on-product", ["product_id": .string(String(repeating: "x", count: 500))])]),
            createdAt: EngineFixture.start)
        try fixture.journal.record(
            batch, error: BatchError(kind: .cache, message: "キャッシュが応答しません: café naïve e\u{301} 👩‍👩‍👧 \u{1B}[31mred " + String(repeating: "long ", count: 60)),
            attempts: 1, ruleFingerprints: [:], at: EngineFixture.start + 5)
        fixture.clock.advance(by: 10)
        let grid = frame(fixture.engine.snapshot(), width: 60, height: 15)
        Golden.check(grid, "wide-characters-60x15")
        // The escape sequence in the error never reaches the grid.
        #expect(!grid.cells.contains { $0.character == "\u{1B}" })
        for row in 0..<grid.height {
            #expect(DisplayWidth.of(grid.text(row: row)) == grid.width, "row \(row) is not exactly the grid's width")
        }
    }

    @Test func tenThousandFailures() throws {
        let fixture = try EngineFixture()
        try FailureSeed.record(10_000, into: fixture.journal, start: EngineFixture.start)
        fixture.clock.advance(by: 20_000)
        var state = ConsoleState()
        state.focus = .failures
        let grid = frame(fixture.engine.snapshot(), state: state, width: 80, height: 24)
        Golden.check(grid, "failures-10000-80x24")
        #expect(grid.text.contains("10000 open of 10000"))
        #expect(grid.text.contains("1-7 of 10000"))
    }

    @Test func terminalTooSmall() throws {
        let fixture = try EngineFixture.busyShop()
        let grid = frame(fixture.engine.snapshot(), width: 40, height: 10)
        Golden.check(grid, "too-small-40x10")
        #expect(grid.text.contains("Terminal too small"))
        #expect(!grid.text.contains("Dispatchers"))
    }

    @Test func helpScreen() throws {
        let fixture = try EngineFixture()
        var state = ConsoleState()
        state.dialog = .help(scroll: 0)
        let grid = frame(fixture.engine.snapshot(), state: state, width: 100, height: 40)
        Golden.check(grid, "help-100x40")
        for binding in KeyMap.bindings where binding.scopes.contains(.panes) {
            #expect(grid.text.contains(binding.description), "help lacks '\(binding.description)'")
        }
    }

    @Test func triggerDialogWithPreview() throws {
        let fixture = try EngineFixture.busyShop()
        var form = TriggerForm(models: fixture.rules.models)
        form.modelIndex = fixture.rules.models.firstIndex(of: "shop.Product")!
        form.pk = "7"
        form.updateFields = "title"
        var state = ConsoleState()
        state.dialog = .trigger(form)
        var context = Self.context
        context.rules = fixture.rules
        let grid = frame(fixture.engine.snapshot(), state: state, context: context, width: 100, height: 30)
        Golden.check(grid, "trigger-dialog-100x30")
        #expect(grid.text.contains("runs  product-detail-on-product"))
        #expect(grid.text.contains("skip  product-list-on-product"))
        // An empty Fields (JSON) shows what it means.
        #expect(grid.text.contains("Fields (JSON)         empty: {\"id\":7}"))
    }

    @Test func failureDetailDialog() throws {
        let fixture = try EngineFixture.busyShop()
        let id = fixture.journal.listing().rows.first!.id
        let record = try #require(try fixture.journal.entry(id))
        let replays = try fixture.journal.replays(of: id).map {
            ReplayRecord(at: $0.at, dispatcher: $0.dispatcher, outcome: $0.outcome, error: $0.error)
        }
        var state = ConsoleState()
        state.dialog = .detail(.failure(FailureDetail(record: record, replays: replays)), scroll: 0, fullValues: false)
        var context = Self.context
        context.rules = fixture.rules
        let grid = frame(fixture.engine.snapshot(), state: state, context: context, width: 100, height: 40)
        Golden.check(grid, "failure-detail-100x40")
        #expect(grid.text.contains("shop.views.product_detail"))
        #expect(grid.text.contains("Replay history (1)"))
    }

    @Test func queueDetailWithBrokerFailures() throws {
        let fixture = try EngineFixture.busyShop()
        let pickle: [UInt8] = [0x80, 0x04, 0x95, 0x2A, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x8C, 0x08] + Array("shop.Product".utf8)
        let messages = [
            FailedMessage(
                system: .celery, queue: "cache-invalidation", messageID: "5f1c0c2e-celery", body: pickle,
                error: "ConnectionError: cache unreachable", failedAt: EngineFixture.start + 30, attempts: 3,
                undecodableReason: "a pickle body, which only Python can read"),
            FailedMessage(
                system: .celery, queue: "cache-invalidation", messageID: "77aa-celery", body: Array(#"{"args": [1, 2]}"#.utf8),
                error: "TimeoutError", failedAt: EngineFixture.start + 31, attempts: 1),
        ]
        var state = ConsoleState()
        state.dialog = .detail(.queue("celery:cache-invalidation", brokerFailures: .loaded(messages)), scroll: 0, fullValues: false)
        let grid = frame(fixture.engine.snapshot(), state: state, width: 100, height: 40)
        Golden.check(grid, "queue-detail-100x40")
        #expect(grid.text.contains("binary (not JSON), 25 bytes: 80 04 95"))
        #expect(grid.text.contains("JSON, 16 bytes: {\"args\":[1,2]}"))
        #expect(grid.text.contains("Ready         13  from embedded broker, messages waiting in the queue"))
        #expect(grid.text.contains("Read          2s ago at 12:01:13"))
        #expect(grid.text.contains("▶ 5f1c0c2e-celery"), "the first failed message starts selected")
        #expect(grid.text.contains("77aa-celery  12:00:31, 1 attempt "))
    }

    @Test func queueDetailDecodesTheSelectedRQJob() throws {
        let fixture = try EngineFixture.busyShop()
        let call = PickleValue.tuple([
            .string("restflow.caching.tasks.run_cache_rules"), .none, .tuple([.list([.int(4)])]), .dict([]),
        ])
        let data = Zlib.compress(PickleEncoder.encode(call))
        let messages = ["first-job", "second-job"].map { id in
            FailedMessage(
                system: .rq, queue: "default", messageID: id, body: data, error: "KeyError: 'x'",
                failedAt: EngineFixture.start + 30, attempts: 1)
        }
        var state = ConsoleState()
        state.dialog = .detail(.queue("django_rq:default", brokerFailures: .loaded(messages), selected: 1), scroll: 0, fullValues: false)
        let text = frame(fixture.engine.snapshot(), state: state, width: 140, height: 40).text
        // Only the selected message is unpacked; the other keeps the cheap hex preview.
        #expect(text.contains("body zlib of pickle, \(data.count) bytes"))
        #expect(text.contains("restflow.caching.tasks.run_cache_rules([4])"))
        #expect(text.components(separatedBy: "body binary (not JSON)").count == 2)
    }

    @Test func replayProgressDialog() throws {
        let fixture = try EngineFixture.busyShop()
        var state = ConsoleState()
        state.dialog = .replayProgress
        let job = ReplayJobStatus(
            title: "Replay of all open failures", completed: 3, total: 8,
            last: ReplayItem(journalID: 4, dispatcher: "inline", outcome: .failed("injected fault")))
        let grid = frame(fixture.engine.snapshot(), state: state, replay: job, width: 80, height: 24)
        Golden.check(grid, "replay-progress-80x24")
        #expect(grid.text.contains("3/8"))
    }
}

/// Writes many journal entries quickly, for large-listing frames and benchmarks.
enum FailureSeed {
    static func record(_ count: Int, into journal: FailureJournal, start: Double) throws {
        let models = ["shop.Product", "shop.Order", "shop.Review"]
        for index in 0..<count {
            let batch = Batch(
                id: UInt64(index + 1), dispatcher: index % 2 == 0 ? "inline" : "threadpool", batchKey: "inline",
                model: models[index % 3], pk: .int(Int64(index % 97)), signal: .postSave,
                ruleIDs: ["product-detail-on-product"], restflowRuleIDs: [1],
                ruleKwargs: JSONObject([("product-detail-on-product", ["product_id": .int(Int64(index % 97))])]), createdAt: start + Double(index))
            try journal.record(
                batch, error: BatchError(kind: .cache, message: "cache store timed out after 2000 ms"), attempts: 1,
                ruleFingerprints: [:], at: start + Double(index))
        }
    }
}
