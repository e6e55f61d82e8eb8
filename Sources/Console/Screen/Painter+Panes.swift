import Engine

extension Painter {
    mutating func drawPanes() {
        let cellContext = CellContext(
            now: input.now, glyphs: glyphs, ascii: ascii, marked: state.marked, queueReadings: input.queueReadings)
        drawTable(DispatchersPane.self, rows: views.dispatchers, order: views.dispatcherOrder, context: cellContext,
                  empty: "No dispatchers are registered.")
        drawTable(LiveBatchesPane.self, rows: views.live, order: views.liveOrder, context: cellContext,
                  empty: "No batches yet.")
        let sparkline = glyphs
        drawTable(QueuesPane.self, rows: views.queues, order: views.queueOrder, context: cellContext,
                  empty: "No broker queues are watched.") { row, column, width in
            column == QueuesPane.sparklineColumn ? sparkline.sparkline(row.history, width: width) : nil
        }
        drawTable(FailuresPane.self, rows: views.failures, order: views.failureOrder, context: cellContext,
                  empty: "No failures journalled.")
    }

    /// Draws one pane: a header row of column titles, then the visible rows,
    /// keeping the selected row in view.
    private mutating func drawTable<Pane: TablePane>(
        _ pane: Pane.Type, rows: [Pane.Row], order: [Int], context: CellContext, empty: String,
        override: ((Pane.Row, Int, Int) -> String?)? = nil
    ) {
        let rect = layout.rect(Pane.pane)
        guard rect.height > 0, rect.width > 0 else { return }
        let columns = Pane.columns(rows)
        let placed = TableLayout.fit(columns, width: rect.width - 2)
        let sort = state.sort(of: Pane.pane)
        drawColumnTitles(columns, placed: placed, sort: sort, rect: rect)

        let visible = max(0, rect.height - 1)
        pageSizes[Pane.pane] = visible
        let focused = state.focus == Pane.pane && state.dialog == nil
        let selected = state.selectedIndex(Pane.pane)
        var scroll = state.scrolls[Pane.pane] ?? 0
        if selected < scroll { scroll = selected }
        if selected >= scroll + visible { scroll = selected - visible + 1 }
        scroll = max(0, min(scroll, max(0, order.count - visible)))
        scrolls[Pane.pane] = scroll

        if order.isEmpty, visible > 0 {
            let message = rows.isEmpty ? empty : "No rows match the filter '\(state.filter.text)'."
            let fitted = TextFit.truncate(message, width: rect.width - 2, ascii: ascii)
            grid.write(fitted, row: rect.row + 1, column: rect.column + 1, limit: rect.width - 2, style: .dim)
            return
        }
        let end = min(order.count, scroll + visible)
        guard scroll < end else { return }
        for position in scroll..<end {
            let row = rows[order[position]]
            let screenRow = rect.row + 1 + position - scroll
            var style = Pane.style(row, context)
            if focused && position == selected { style = style.adding(.reverse) }
            if focused && position == selected {
                grid.fill(Rect(row: screenRow, column: rect.column, width: rect.width, height: 1), style: style)
            }
            let cells = Pane.cells(row, context)
            for slot in placed {
                let text = override?(row, slot.index, slot.width) ?? cells[slot.index]
                grid.write(text, row: screenRow, column: rect.column + 1 + slot.offset, width: slot.width,
                           alignment: columns[slot.index].alignment, style: style)
            }
        }
        drawScrollHint(rect: rect, scroll: scroll, visible: visible, count: order.count)
    }

    private mutating func drawColumnTitles(_ columns: [TableColumn], placed: [TableLayout.Placed], sort: SortOrder, rect: Rect) {
        let style = CellStyle([.bold, .underline])
        for slot in placed {
            var title = columns[slot.index].title
            if slot.index == sort.column {
                // The mark always shows: the title gives up cells, not the mark.
                let mark = sort.descending ? glyphs.sortDescending : glyphs.sortAscending
                let room = slot.width - TextFit.cellWidth(mark, ascii: ascii)
                let trimmed = title.trimmingSpaces()
                title = (TextFit.cellWidth(trimmed, ascii: ascii) <= room ? trimmed : TextFit.truncate(trimmed, width: room, ascii: ascii)) + mark
            }
            grid.write(title, row: rect.row, column: rect.column + 1 + slot.offset, width: slot.width,
                       alignment: columns[slot.index].alignment, style: style)
        }
    }

    /// Names the sort column in the pane's title when its mark cannot be
    /// seen: the column is hidden at this width, has no title, or the pane
    /// keeps the engine's order.
    func sortNote<Pane: TablePane>(_ pane: Pane.Type, rows: [Pane.Row]) -> String? {
        let sort = state.sort(of: Pane.pane)
        if sort.column < 0 { return "in flight first" }
        let columns = Pane.columns(rows)
        guard sort.column < columns.count else { return nil }
        let column = columns[sort.column]
        let placed = TableLayout.fit(columns, width: layout.rect(Pane.pane).width - 2)
        let shown = placed.contains { $0.index == sort.column }
        guard !shown || column.title.trimmingSpaces().isEmpty else { return nil }
        let mark = sort.descending ? glyphs.sortDescending : glyphs.sortAscending
        return "sort \(column.sortName ?? column.title)\(mark)"
    }

    /// Writes "12-20 of 340" on the pane's bottom edge when not every row fits.
    private mutating func drawScrollHint(rect: Rect, scroll: Int, visible: Int, count: Int) {
        guard count > visible else { return }
        let text = " \(scroll + 1)-\(min(count, scroll + visible)) of \(count) "
        let textWidth = TextFit.cellWidth(text)
        let row = rect.bottom
        let column = rect.right - textWidth - 1
        guard row < height, textWidth + 4 < rect.width else { return }
        // Only over bare border, never over another pane's title.
        let border = glyphs.horizontal
        guard (column..<(column + textWidth)).allSatisfy({ grid[row, $0].character == border }) else { return }
        grid.write(text, row: row, column: column, style: CellStyle(role: .muted))
    }
}
