import Engine

/// A drawn frame and what the drawing learned about the layout.
public struct RenderedFrame: Sendable {
    public var grid: ScreenGrid
    /// The first visible row of each pane, after keeping its selection in view.
    public var scrolls: [PaneID: Int]
    /// Visible data rows per pane.
    public var pageSizes: [PaneID: Int]
}

/// Builds a frame of the console from a snapshot, the screen state and the
/// terminal size. Pure: the same input gives the same grid, so frames are
/// tested as text without a terminal.
public enum ScreenModel {
    /// The smallest size drawn; below it the console shows a message instead of the panes.
    public static let minimumWidth = 60
    public static let minimumHeight = 15

    public static func render(_ input: FrameInput, width: Int, height: Int, cache: PaneOrderCache? = nil) -> RenderedFrame {
        var grid = ScreenGrid(width: width, height: height, asciiOnly: input.context.ascii)
        guard width >= minimumWidth, height >= minimumHeight else {
            drawTooSmall(&grid)
            return RenderedFrame(grid: grid, scrolls: input.state.scrolls, pageSizes: input.state.pageSizes)
        }
        var state = input.state
        state.expireStatus(now: input.now)
        let views = PaneViews(snapshot: input.snapshot, state: state, cache: cache)
        state.reconcile(with: views)
        let layout = PaneLayout(width: width, height: height, dispatcherCount: views.count(.dispatchers))
        var painter = Painter(grid: grid, input: input, state: state, views: views, layout: layout)
        painter.drawHeader()
        painter.drawBorders()
        painter.drawPanes()
        let hasMessage = state.status != nil
        if !hasMessage { painter.drawStatusLine() }
        painter.drawFooter()
        painter.drawDialog()
        // A message goes over an open dialog, so a refusal's reason and
        // fix stay readable on a small terminal.
        if hasMessage { painter.drawStatusLine() }
        return RenderedFrame(grid: painter.grid, scrolls: painter.scrolls, pageSizes: painter.pageSizes)
    }

    /// Says the terminal is too small, each line wrapped at spaces and
    /// centred, so the way out (q) stays readable down to a few columns.
    private static func drawTooSmall(_ grid: inout ScreenGrid) {
        let ascii = grid.asciiOnly
        let lines = [
            "Terminal too small",
            "\(grid.width)x\(grid.height); need \(minimumWidth)x\(minimumHeight)",
            "Enlarge the window, or press q to quit.",
        ]
        var rows: [(String, CellStyle)] = []
        for (index, line) in lines.enumerated() {
            rows += TextWrap.wrap(line, width: grid.width, ascii: ascii).map { ($0, index == 0 ? .bold : .plain) }
        }
        // The way out matters most: when rows run short, the first lines go.
        if rows.count > grid.height { rows.removeFirst(rows.count - grid.height) }
        let top = max(0, (grid.height - rows.count) / 2)
        for (offset, row) in rows.enumerated() {
            let column = max(0, (grid.width - TextFit.cellWidth(row.0, ascii: ascii)) / 2)
            grid.write(row.0, row: top + offset, column: column, style: row.1)
        }
    }
}

/// The position of each pane: the header on row 0, boxes sharing borders,
/// then the status line and the footer on the last two rows.
struct PaneLayout {
    var width: Int
    var height: Int
    var topBorder = 1
    var dispatchers: Rect
    var middleBorder: Int
    var live: Rect
    var queues: Rect
    var splitColumn: Int
    var failuresBorder: Int
    var failures: Rect
    var bottomBorder: Int

    init(width: Int, height: Int, dispatcherCount: Int) {
        self.width = width
        self.height = height
        let paneRows = height - 3
        let bodyRows = paneRows - 4
        // Dispatchers get a row each while the boxes below keep a header and
        // two rows each (one each on small screens). The middle boxes and
        // the failures share the rest 45:55.
        let needed = 1 + max(1, dispatcherCount)
        let reserved = bodyRows < 12 ? 4 : 6
        let dispatcherRows = max(2, min(needed, bodyRows - reserved))
        let rest = bodyRows - dispatcherRows
        let middleRows = max(2, rest * 45 / 100)
        let failureRows = rest - middleRows

        let inner = width - 2
        // Narrow screens give the live batches more of the width, because
        // their columns cannot shrink as far as the queues' can.
        let livePercent: Int
        if width >= 120 {
            livePercent = 50
        } else if width >= 100 {
            livePercent = 53
        } else {
            livePercent = 58
        }
        splitColumn = 1 + (inner - 1) * livePercent / 100

        dispatchers = Rect(row: 2, column: 1, width: inner, height: dispatcherRows)
        middleBorder = dispatchers.bottom
        live = Rect(row: middleBorder + 1, column: 1, width: splitColumn - 1, height: middleRows)
        queues = Rect(row: middleBorder + 1, column: splitColumn + 1, width: width - splitColumn - 2, height: middleRows)
        failuresBorder = live.bottom
        failures = Rect(row: failuresBorder + 1, column: 1, width: inner, height: failureRows)
        bottomBorder = failures.bottom
    }

    func rect(_ pane: PaneID) -> Rect {
        switch pane {
        case .dispatchers: return dispatchers
        case .liveBatches: return live
        case .queues: return queues
        case .failures: return failures
        }
    }
}
