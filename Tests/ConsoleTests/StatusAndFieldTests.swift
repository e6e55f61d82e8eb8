import Brokers
@testable import Console
@testable import Engine
import Testing

/// Status messages, long text fields and the queue texts that must stay readable.
@Suite(.serialized) struct StatusAndFieldTests {
    let fixture: EngineFixture
    let snapshot: EngineSnapshot

    init() throws {
        fixture = try EngineFixture.busyShop()
        snapshot = ScreenModelGoldenTests.pinPoolSize(fixture.engine.snapshot())
    }

    func frame(_ state: ConsoleState, width: Int, height: Int = 24) -> ScreenGrid {
        ScreenModel.render(
            FrameInput(snapshot: snapshot, state: state, context: ScreenModelGoldenTests.context), width: width, height: height
        ).grid
    }

    /// Returns the grid's text with the line breaks taken out, for text that wraps.
    static func joined(_ grid: ScreenGrid) -> String {
        grid.text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: " ")
    }

    // MARK: - Status line

    @Test func readOnlyRefusalShowsTheFixAtEveryWidth() {
        let labels = ["redis://127.0.0.1:44553/4", "redis://cache-invalidation-primary.internal.example.com:6379/12" + String(repeating: "x", count: 160)]
        for label in labels {
            for width in [80, 100, 120, 200] {
                var state = ConsoleState()
                let targets = WriteTargets(brokerLabel: label, cacheLabel: "memory", ruleDispatchers: ["celery", "inline"])
                let context = ControlContext(now: snapshot.time, canWrite: false, models: fixture.rules.models, writeTargets: targets)
                _ = state.handle(.character("t"), views: PaneViews(snapshot: snapshot, state: state), context: context)
                let text = Self.joined(frame(state, width: width))
                #expect(text.contains("restart with --write to allow it."), "width \(width), broker \(label.prefix(30)): \(text)")
                #expect(text.contains("error: Triggering a dispatch writes to the broker"), "width \(width)")
            }
        }
    }

    @Test func shortMessageKeepsOneRowAndTheBorder() {
        var state = ConsoleState()
        state.post("Cleared 2 marks.", now: snapshot.time)
        let rows = frame(state, width: 80).text.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(rows[21].hasPrefix("└"), "\(rows[21])")
        #expect(rows[22].contains("Cleared 2 marks."))
    }

    @Test func unknownStateWarningListsEveryStateAt80Columns() {
        var state = ConsoleState()
        let context = ControlContext(now: snapshot.time)
        for key in [Key.character("/")] + "state:bogus".map({ Key.character($0) }) + [.enter] {
            _ = state.handle(key, views: PaneViews(snapshot: snapshot, state: state), context: context)
        }
        let text = Self.joined(frame(state, width: 80))
        for word in FilterQuery.stateWords {
            #expect(text.contains(word + ",") || text.contains(word + "."), "the warning lacks \(word): \(text)")
        }
    }

    @Test func statusRowsCutTheTextBeforeTheFix() {
        let fix = "restart with --write to allow it."
        let text = " error: " + String(repeating: "word ", count: 60) + fix
        let rows = Painter.statusRows(text, fix: fix, width: 60, ascii: false)
        #expect(rows.count == 2)
        #expect(rows.allSatisfy { TextFit.cellWidth($0) <= 60 })
        #expect(rows.joined(separator: " ").hasSuffix("… " + fix), "\(rows)")
    }

    // MARK: - Singular and plural

    @Test func shortCountsFitFourCharacters() {
        let cases: [(Int, String)] = [
            (0, "0"), (9_999, "9999"), (10_000, "10k"), (30_019, "30k"), (295_190, "295k"), (999_999, "999k"),
            (1_000_000, "1.0M"), (1_299_999, "1.2M"), (12_000_000, "12M"), (999_999_999, "999M"), (2_000_000_000, "2G"),
        ]
        for (value, text) in cases {
            #expect(Format.shortCount(value) == text, "\(value)")
            #expect(Format.shortCount(value).count <= 4, "\(value)")
        }
    }

    @Test func countsUseTheSingularForOne() {
        #expect(Format.counted(1, "attempt") == "1 attempt")
        #expect(Format.counted(2, "attempt") == "2 attempts")
        #expect(Format.counted(1, "batch", plural: "batches") == "1 batch")
        #expect(Format.counted(0, "batch", plural: "batches") == "0 batches")
    }

    @Test func brokerFailureWithOneAttemptSaysAttempt() {
        let message = FailedMessage(
            system: .dramatiq, queue: "default", messageID: "m-1", body: Array("{}".utf8), failedAt: EngineFixture.start, attempts: 1)
        let document = DetailDocument.queue(
            nil, name: "dramatiq:default", failures: .loaded([message]), now: EngineFixture.start, glyphs: .unicode, fullValues: false)
        let text = document.rows(width: 100, ascii: false).map(\.0).joined(separator: "\n")
        #expect(text.contains("1 attempt"), "\(text)")
        #expect(!text.contains("1 attempts"), "\(text)")
    }

    // MARK: - Columns and queue texts

    @Test func rulesColumnTakesSpareWidthAt200Columns() {
        let grid = frame(ConsoleState(), width: 200, height: 48)
        let rows = grid.text.split(separator: "\n").filter { $0.contains("#") && $0.contains("inline") && $0.contains("injected") }
        #expect(!rows.isEmpty, "no inline failure row:\n\(grid.text)")
        for row in rows {
            #expect(row.contains("1: product-detail-on-product "), "\(row)")
        }
    }

    @Test func queueDetailGivesEachFigureItsSource() {
        let depth = QueueDepth(
            name: "dramatiq:default", source: "redis LLEN queue, HLEN .msgs/.DQ.msgs, ZCARD .XQ", ready: 5, inFlight: 1,
            delayed: 2, failed: 3, readAt: EngineFixture.start - 2)
        let document = DetailDocument.queue(
            QueueSnapshot(depth: depth, history: [5]), name: depth.name, failures: .loaded([]), now: EngineFixture.start,
            glyphs: .unicode, fullValues: false)
        let rows = document.rows(width: 106, ascii: false).map(\.0)
        let figureRows = ["Ready", "In flight", "Delayed", "Failed"].compactMap { label in rows.first { $0.hasPrefix(label + " ") } }
        #expect(figureRows.count == 4, "\(rows)")
        let sources = figureRows.map { $0.components(separatedBy: " from ").last ?? "" }
        #expect(Set(sources).count == 4, "each figure has its own source: \(sources)")
        #expect(sources[0] == "redis LLEN of the queue list")
        #expect(sources[3] == "redis ZCARD of the .XQ dead-letter set")
        #expect(rows.contains { $0.hasPrefix("Read ") && $0.contains("2s ago") }, "\(rows)")
    }

    @Test func unknownSourceIsShownOnce() {
        let depth = QueueDepth(name: "celery:x", source: "a new probe", ready: 1, inFlight: nil, delayed: nil, failed: nil, readAt: 0)
        let document = DetailDocument.queue(
            QueueSnapshot(depth: depth, history: []), name: depth.name, failures: .noBroker, now: 1, glyphs: .unicode,
            fullValues: false)
        let rows = document.rows(width: 100, ascii: false).map(\.0)
        #expect(rows.filter { $0.contains("a new probe") }.count == 1, "\(rows)")
    }

    @Test func outageRowShowsTheAgeOfTheLastFigures() {
        let good = QueueDepth(name: "dramatiq:default", source: "redis", ready: 4, inFlight: 0, delayed: 0, failed: 1, readAt: 1000)
        let down = QueueDepth(
            name: "dramatiq:default", source: "redis", ready: nil, inFlight: nil, delayed: nil, failed: nil, readAt: 1042,
            note: "Redis is unavailable")
        var readings = QueueReadingTimes()
        readings.record([QueueSnapshot(depth: good, history: [])])
        readings.record([QueueSnapshot(depth: down, history: [])])
        let context = CellContext(now: 1042, glyphs: .unicode, ascii: false, queueReadings: readings)
        let cells = QueuesPane.cells(QueueSnapshot(depth: down, history: []), context)
        #expect(cells[1] == "?")
        #expect(cells.last == "42s")
        let never = CellContext(now: 1042, glyphs: .unicode, ascii: false)
        #expect(QueuesPane.cells(QueueSnapshot(depth: down, history: []), never).last == "-")
    }

    // MARK: - Text fields

    @Test func invalidFieldsJSONSaysWhere() {
        var form = TriggerForm(models: ["shop.Order"])
        form.fields = "{\"id\": 1,\n  \"title\": }"
        guard case .failure(let error) = form.event() else {
            Issue.record("invalid JSON made an event")
            return
        }
        #expect(error.message.hasPrefix("Fields is not valid JSON at line 2, column 12:"), "\(error.message)")
    }

    @Test func focusedFieldShowsItsEnd() {
        var state = ConsoleState()
        var form = TriggerForm(models: fixture.rules.models)
        let text = "{\"title\": \"" + String(repeating: "x", count: 180) + "\", \"id\": 123456789}"
        // Focused while empty, so the text is typed, not selected.
        form.setFocus(.fields)
        for character in text { form.type(character) }
        state.dialog = .trigger(form)
        let grid = frame(state, width: 120, height: 40)
        #expect(grid.text.contains("\"id\": 123456789}_"), "\(grid.text)")
        #expect(grid.text.contains("…xxx"))
    }

    @Test func filterLineShowsItsEnd() {
        var state = ConsoleState()
        state.filterDraft = String(repeating: "a", count: 150) + " model:order"
        let grid = frame(state, width: 100)
        let footer = grid.text.split(separator: "\n", omittingEmptySubsequences: false)[23]
        #expect(footer.contains("/ filter: …"), "\(footer)")
        #expect(footer.contains("aaa model:order_"), "\(footer)")
    }
}
