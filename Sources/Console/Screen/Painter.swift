import Engine

/// Draws one frame into a grid; ``ScreenModel/render(_:width:height:cache:)`` drives it.
struct Painter {
    var grid: ScreenGrid
    let input: FrameInput
    let state: ConsoleState
    let views: PaneViews
    let layout: PaneLayout
    var scrolls: [PaneID: Int] = [:]
    var pageSizes: [PaneID: Int] = [:]

    init(grid: ScreenGrid, input: FrameInput, state: ConsoleState, views: PaneViews, layout: PaneLayout) {
        self.grid = grid
        self.input = input
        self.state = state
        self.views = views
        self.layout = layout
    }

    var glyphs: Glyphs { input.context.glyphs }
    var ascii: Bool { input.context.ascii }
    var width: Int { grid.width }
    var height: Int { grid.height }

    // MARK: - Header

    mutating func drawHeader() {
        grid.fill(Rect(row: 0, column: 0, width: width, height: 1), style: CellStyle(.reverse))
        let clock = Format.clock(input.now) + " UTC"
        let clockColumn = width - TextFit.cellWidth(clock) - 1
        let available = clockColumn - 3
        var column = 1
        for (text, style, gap) in headerLine().fit(width: available) {
            column += gap
            let fitted = TextFit.truncate(text, width: available + 1 - column, ascii: ascii)
            column += grid.write(fitted, row: 0, column: column, limit: available + 1 - column, style: style.adding(.reverse))
        }
        grid.write(clock, row: 0, column: clockColumn, style: CellStyle(.reverse))
    }

    private func headerLine() -> HeaderLine {
        let snapshot = input.snapshot
        let context = input.context
        var line = HeaderLine()
        line.add(.title, ["dispatchtop", ""], style: .title)
        let broker = snapshot.brokerStatus
        line.add(.broker, LocationText.forms(broker?.label ?? context.brokerLabel).map { "broker: " + $0 })
        if let broker, !broker.isUp {
            line.add(.brokerDown, ["DOWN"], style: CellStyle(.bold, role: .bad), attached: true)
        }
        line.add(.cache, LocationText.forms(LocationText.display(context.cacheLabel)).map { "cache: " + $0 } + [""])
        if let cache = snapshot.cacheStatus, !cache.isUp {
            line.add(.cacheDown, ["DOWN", "cache DOWN"], style: CellStyle(.bold, role: .bad), attached: true)
        }
        let source = context.eventSourceLabel
        if source == "none" {
            // Without a source, the run state reads "no event source" already.
            if context.hasSource { line.add(.events, ["events: none", ""]) }
        } else {
            let short = TextFit.truncate(source, width: HeaderLine.shortEventSource, ascii: ascii)
            line.add(.events, ["events: \(source)", source, short, ""])
        }
        if snapshot.events.rejected > 0 {
            line.add(.rejected, ["rejected \(snapshot.events.rejected)", ""], style: .bold)
        }
        line.add(.run, runForms(context), style: .bold)
        if snapshot.outboxWaiting > 0 {
            line.add(
                .outbox, ["outbox \(snapshot.outboxWaiting) waiting", "outbox \(snapshot.outboxWaiting)"],
                style: CellStyle(.bold, role: .warning))
        }
        line.add(.writeMode, [context.writeMode.label, context.writeMode.shortLabel],
                 style: context.writeMode == .write ? .bold : .plain)
        return line
    }

    /// Returns the event source's state in words, then as its symbol alone.
    private func runForms(_ context: ScreenContext) -> [String] {
        if !context.hasSource { return ["no event source", "no source"] }
        if context.sourceFinished { return ["■ source ended", "■ ended"] }
        let text = context.paused ? glyphs.paused : glyphs.running
        return [text, String(text.prefix { $0 != " " })]
    }

    // MARK: - Borders

    mutating func drawBorders() {
        let right = width - 1
        let border = CellStyle(role: .muted)
        horizontalLine(row: layout.topBorder, left: glyphs.topLeft, right: glyphs.topRight, style: border)
        horizontalLine(row: layout.middleBorder, left: glyphs.teeRight, right: glyphs.teeLeft, style: border)
        horizontalLine(row: layout.failuresBorder, left: glyphs.teeRight, right: glyphs.teeLeft, style: border)
        horizontalLine(row: layout.bottomBorder, left: glyphs.bottomLeft, right: glyphs.bottomRight, style: border)
        grid.write(String(glyphs.teeDown), row: layout.middleBorder, column: layout.splitColumn, style: border)
        grid.write(String(glyphs.teeUp), row: layout.failuresBorder, column: layout.splitColumn, style: border)
        let vertical = String(glyphs.vertical)
        for row in (layout.topBorder + 1)..<layout.bottomBorder where row != layout.middleBorder && row != layout.failuresBorder {
            grid.write(vertical, row: row, column: 0, style: border)
            grid.write(vertical, row: row, column: right, style: border)
            if row > layout.middleBorder && row < layout.failuresBorder {
                grid.write(vertical, row: row, column: layout.splitColumn, style: border)
            }
        }
        drawTitle(.dispatchers, row: layout.topBorder, column: 2, limit: width - 4)
        drawTitle(.liveBatches, row: layout.middleBorder, column: 2, limit: layout.splitColumn - 3)
        drawTitle(.queues, row: layout.middleBorder, column: layout.splitColumn + 2, limit: width - layout.splitColumn - 4)
        drawTitle(.failures, row: layout.failuresBorder, column: 2, limit: width - 4)
    }

    private mutating func horizontalLine(row: Int, left: Character, right: Character, style: CellStyle) {
        let line = String(left) + String(repeating: glyphs.horizontal, count: max(0, width - 2)) + String(right)
        grid.write(line, row: row, column: 0, style: style)
    }

    private mutating func drawTitle(_ pane: PaneID, row: Int, column: Int, limit: Int) {
        let focused = state.focus == pane
        let title = " \(pane.title) "
        let style = focused ? CellStyle([.bold, .reverse], role: .title) : CellStyle(.bold, role: .title)
        // The focus is shown by reverse video and by the brackets, not by colour.
        let text = focused ? "[\(title)]" : title
        let used = grid.write(text, row: row, column: column, limit: limit, style: style)
        let info = TextFit.truncate(" " + titleInfo(pane), width: limit - used - 1, ascii: ascii) + " "
        grid.write(info, row: row, column: column + used, limit: limit - used, style: CellStyle(role: .muted))
    }

    private func titleInfo(_ pane: PaneID) -> String {
        let shown = views.count(pane)
        var parts: [String] = []
        switch pane {
        case .dispatchers: parts.append("\(views.dispatchers.count)")
        case .liveBatches: parts.append("\(views.live.count)")
        case .queues: parts.append("\(views.queues.count)")
        case .failures:
            let listing = input.snapshot.failures
            parts.append("\(listing.open) open of \(listing.total)")
            if listing.rows.count < listing.total { parts.append("newest \(listing.rows.count) listed") }
            if !state.marked.isEmpty { parts.append("\(state.marked.count) marked") }
        }
        let total: Int
        switch pane {
        case .dispatchers: total = views.dispatchers.count
        case .liveBatches: total = views.live.count
        case .queues: total = views.queues.count
        case .failures: total = views.failures.count
        }
        if shown != total { parts.append("\(shown) match") }
        let note: String?
        switch pane {
        case .dispatchers: note = sortNote(DispatchersPane.self, rows: views.dispatchers)
        case .liveBatches: note = sortNote(LiveBatchesPane.self, rows: views.live)
        case .queues: note = sortNote(QueuesPane.self, rows: views.queues)
        case .failures: note = sortNote(FailuresPane.self, rows: views.failures)
        }
        if let note { parts.append(note) }
        return parts.joined(separator: " · ")
    }

    // MARK: - Status line and footer

    mutating func drawStatusLine() {
        let row = height - 2
        if let status = state.status {
            let prefix = status.level == .info ? "" : "\(status.level.rawValue): "
            let style: CellStyle
            switch status.level {
            case .info: style = CellStyle(.bold)
            case .warning: style = CellStyle(.bold, role: .warning)
            case .error: style = CellStyle([.bold, .reverse], role: .bad)
            }
            let rows = Self.statusRows(" " + prefix + status.text, fix: status.fix, width: width - 1, ascii: ascii)
            // A message too long for one row takes the row above as well,
            // over the panes' bottom border, while it shows.
            for (offset, text) in rows.enumerated() {
                let target = row - rows.count + 1 + offset
                grid.fill(Rect(row: target, column: 0, width: width, height: 1), style: style)
                grid.write(text, row: target, column: 0, limit: width - 1, style: style)
            }
            return
        }
        // An outage of the broker, the cache or both, with each reason.
        var outages: [String] = []
        if let broker = input.snapshot.brokerStatus, !broker.isUp {
            outages.append("broker DOWN" + (broker.detail.map { ": " + $0 } ?? ""))
        }
        if let cache = input.snapshot.cacheStatus, !cache.isUp {
            outages.append("cache DOWN" + (cache.detail.map { ": " + $0 } ?? ""))
        }
        if !outages.isEmpty {
            writeLine(" " + outages.joined(separator: " · "), row: row, style: CellStyle(.bold, role: .bad))
            return
        }
        var parts: [String] = []
        let events = input.snapshot.events
        parts.append("events \(events.read) read, \(events.dispatches) dispatches, \(Format.rate(events.ratePerSecond))/s")
        if events.rejected > 0 {
            parts.append("\(events.rejected) rejected" + (events.lastRejection.map { " (last: \($0))" } ?? ""))
        }
        if !state.filter.isEmpty { parts.append("filter: \(state.filter.text)") }
        writeLine(" " + parts.joined(separator: " · "), row: row, style: CellStyle(role: .muted))
    }

    /// Lays a status message out in one or two rows of `width` cells. When
    /// two rows are not enough, the text before `fix` is shortened, so the
    /// fix is always shown whole where a row can hold it.
    static func statusRows(_ text: String, fix: String?, width: Int, ascii: Bool) -> [String] {
        guard width > 0 else { return [] }
        if TextFit.cellWidth(text, ascii: ascii) <= width { return [text] }
        let wrapped = TextWrap.wrap(text, width: width, ascii: ascii)
        if wrapped.count <= 2 { return wrapped }
        guard let fix, TextFit.cellWidth(fix, ascii: ascii) < width else {
            let rest = wrapped.dropFirst().joined(separator: " ")
            return [wrapped[0], TextFit.truncate(rest + " ", width: width, ascii: ascii)]
        }
        let head = String(text.dropLast(fix.count)).trimmingSpaces()
        // The widest cut of the head that still lets head and fix wrap into two rows.
        var low = 1
        var high = TextFit.cellWidth(head, ascii: ascii)
        var best = [TextFit.truncate(head, width: width - TextFit.cellWidth(fix, ascii: ascii) - 1, ascii: ascii) + " " + fix]
        while low <= high {
            let middle = (low + high) / 2
            let rows = TextWrap.wrap(TextFit.truncate(head, width: middle, ascii: ascii) + " " + fix, width: width, ascii: ascii)
            if rows.count <= 2 {
                best = rows
                low = middle + 1
            } else {
                high = middle - 1
            }
        }
        return best
    }

    /// Writes a line and a space after it, ending in an ellipsis when it is cut.
    private mutating func writeLine(_ text: String, row: Int, style: CellStyle) {
        grid.write(TextFit.truncate(text, width: width - 1, ascii: ascii) + " ", row: row, column: 0, limit: width, style: style)
    }

    mutating func drawFooter() {
        let row = height - 1
        if let draft = state.filterDraft {
            let prompt = " / filter: "
            var column = grid.write(prompt, row: row, column: 0, style: .bold)
            // A line longer than the footer shows its end, where typing goes.
            let visibleDraft = TextFit.tail(draft, width: width - column - 2, ascii: ascii)
            column += grid.write(visibleDraft, row: row, column: column, limit: width - column - 2)
            grid.write("_", row: row, column: column, style: CellStyle(.reverse))
            let hint = TextFit.truncate("  Enter apply  Esc cancel  (dispatcher: model: state:)", width: width - column - 1, ascii: ascii)
            grid.write(hint, row: row, column: column + 1, limit: width - column - 1, style: CellStyle(role: .muted))
            return
        }
        // The most important hints that fit are kept, then drawn in table order.
        let hints = KeyMap.footerHints
        var kept = Set<Int>()
        var used = 1
        for index in hints.indices.sorted(by: { (hints[$0].rank, $0) < (hints[$1].rank, $1) }) {
            let needed = TextFit.cellWidth(hints[index].key) + 1 + TextFit.cellWidth(hints[index].hint) + 2
            if used + needed > width { break }
            kept.insert(index)
            used += needed
        }
        var column = 1
        for index in hints.indices where kept.contains(index) {
            column += grid.write(hints[index].key, row: row, column: column, style: CellStyle(.reverse))
            column += grid.write(" " + hints[index].hint + "  ", row: row, column: column)
        }
    }
}
