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
        let snapshot = input.snapshot
        let context = input.context
        grid.fill(Rect(row: 0, column: 0, width: width, height: 1), style: CellStyle(.reverse))
        var segments: [HeaderSegment] = [
            HeaderSegment(long: "dispatchtop", short: "", priority: 9, style: .title),
            HeaderSegment(long: "broker: \(brokerText(snapshot, context))", short: brokerText(snapshot, context), priority: 3),
            HeaderSegment(long: "cache: \(context.cacheLabel)", short: context.cacheLabel, priority: 5),
            HeaderSegment(long: "events: \(context.eventSourceLabel)", short: context.eventSourceLabel, priority: 2),
        ]
        if snapshot.events.rejected > 0 {
            segments.append(HeaderSegment(long: "rejected \(snapshot.events.rejected)", short: "rej \(snapshot.events.rejected)", priority: 0, style: .bold))
        }
        let run = context.sourceFinished ? "■ source ended" : (context.paused ? glyphs.paused : glyphs.running)
        segments.append(HeaderSegment(long: run, short: run, priority: 1, style: .bold))
        if snapshot.outboxWaiting > 0 {
            segments.append(HeaderSegment(long: "outbox \(snapshot.outboxWaiting)", short: "ob \(snapshot.outboxWaiting)", priority: 1))
        }
        segments.append(HeaderSegment(long: context.writeMode.label, short: context.writeMode.shortLabel, priority: 4,
                                      style: context.writeMode == .write ? .bold : .plain))
        let clock = Format.clock(input.now) + " UTC"
        let available = width - TextFit.cellWidth(clock) - 2
        let line = HeaderSegment.fit(segments, width: available)
        var column = 1
        for (text, style) in line {
            column += grid.write(text, row: 0, column: column, limit: available - column + 1, style: style.adding(.reverse)) + 2
        }
        grid.write(clock, row: 0, column: width - TextFit.cellWidth(clock) - 1, style: CellStyle(.reverse))
    }

    private func brokerText(_ snapshot: EngineSnapshot, _ context: ScreenContext) -> String {
        guard let status = snapshot.brokerStatus else { return context.brokerLabel }
        if status.isUp { return status.label }
        return "\(status.label) DOWN" + (status.detail.map { " (\($0))" } ?? "")
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
        let info = " " + titleInfo(pane) + " "
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
            grid.write(" " + prefix + status.text + " ", row: row, column: 0, limit: width, style: style)
            return
        }
        var parts: [String] = []
        let events = input.snapshot.events
        parts.append("events \(events.read) read, \(events.dispatches) dispatches, \(Format.rate(events.ratePerSecond))/s")
        if events.rejected > 0 {
            parts.append("\(events.rejected) rejected" + (events.lastRejection.map { " (last: \($0))" } ?? ""))
        }
        if !state.filter.isEmpty { parts.append("filter: \(state.filter.text)") }
        grid.write(" " + parts.joined(separator: " · "), row: row, column: 0, limit: width, style: CellStyle(role: .muted))
    }

    mutating func drawFooter() {
        let row = height - 1
        if let draft = state.filterDraft {
            let prompt = " / filter: "
            var column = grid.write(prompt, row: row, column: 0, style: .bold)
            column += grid.write(draft, row: row, column: column, limit: width - column - 1)
            grid.write("_", row: row, column: column, style: CellStyle(.reverse))
            let hint = "  Enter apply  Esc cancel  (dispatcher: model: state:)"
            grid.write(hint, row: row, column: column + 1, limit: width - column - 1, style: CellStyle(role: .muted))
            return
        }
        var column = 1
        for (key, hint) in KeyMap.footerHints {
            let keyWidth = TextFit.cellWidth(key)
            let needed = keyWidth + 1 + TextFit.cellWidth(hint) + 2
            if column + needed > width { break }
            column += grid.write(key, row: row, column: column, style: CellStyle(.reverse))
            column += grid.write(" " + hint + "  ", row: row, column: column)
        }
    }
}

/// One part of the header, with a shorter form for narrow terminals.
struct HeaderSegment {
    var long: String
    var short: String
    /// Higher numbers shorten, then vanish, first.
    var priority: Int
    var style: CellStyle = .plain

    /// Returns the texts that fit in `width` with two spaces between them.
    /// Long forms come first, then short forms, then the least important
    /// segments are dropped.
    static func fit(_ segments: [HeaderSegment], width: Int) -> [(String, CellStyle)] {
        var texts = segments.map { $0.long }
        var alive = Array(repeating: true, count: segments.count)
        func total() -> Int {
            zip(texts, alive).filter { $0.1 && !$0.0.isEmpty }.reduce(0) { $0 + TextFit.cellWidth($1.0) + 2 }
        }
        let byPriority = segments.indices.sorted { segments[$0].priority > segments[$1].priority }
        for index in byPriority where total() > width {
            texts[index] = segments[index].short
        }
        for index in byPriority where total() > width {
            alive[index] = false
        }
        return segments.indices.filter { alive[$0] && !texts[$0].isEmpty }.map { (texts[$0], segments[$0].style) }
    }
}
