@testable import Console
@testable import Engine
import Testing

/// The SENT column counts batches handed to a real broker, which never
/// count as done here. It stays on a narrow screen only when there are some.
@Suite struct DispatchersPaneTests {
    static func row(_ name: String, sent: UInt64) -> DispatcherSnapshot {
        var row = DispatcherSnapshot(name: name, runsOn: "Celery workers", batching: true, ruleCount: 1)
        row.sent = sent
        return row
    }

    static func titles(_ rows: [DispatcherSnapshot], width: Int) -> [String] {
        let columns = DispatchersPane.columns(rows)
        return TableLayout.fit(columns, width: width).map { columns[$0.index].title }
    }

    @Test func sentColumnStaysWhenABrokerSent() {
        let rows = [Self.row("inline", sent: 0), Self.row("celery", sent: 924)]
        // At 78 cells one figure must go: the rate, not what was sent.
        #expect(Self.titles(rows, width: 78).contains("SENT"))
        #expect(!Self.titles(rows, width: 78).contains("RATE/s"))
        let context = CellContext(now: 0, glyphs: .unicode, ascii: false)
        #expect(DispatchersPane.cells(rows[1], context)[10] == "924")
    }

    @Test func sentColumnGoesFirstWhenNothingWasSent() {
        let rows = [Self.row("inline", sent: 0), Self.row("threadpool", sent: 0)]
        #expect(!Self.titles(rows, width: 78).contains("SENT"))
        #expect(Self.titles(rows, width: 160).contains("SENT"))
    }
}
