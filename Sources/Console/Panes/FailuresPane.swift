import Engine

/// Journalled failures, newest first by default; resolved ones stay listed
/// and are marked in words, not only by colour.
enum FailuresPane: TablePane {
    typealias Row = FailureSummary
    static let pane = PaneID.failures
    static let defaultSort = SortOrder(column: 1, descending: true)

    static func columns(_ rows: [FailureSummary]) -> [TableColumn] {
        [
            TableColumn(" ", minimum: 1, sortName: "RESOLVED"),
            TableColumn("TIME", minimum: 8),
            TableColumn("BATCH", minimum: LiveBatchesPane.idWidth(rows.lazy.map(\.batchID).max()), alignment: .right, dropPriority: 1),
            TableColumn("DISPATCHER", minimum: 10, maximum: 12, growth: 1, dropPriority: 2),
            TableColumn("MODEL", minimum: 8, maximum: 20, growth: 1, dropPriority: 3),
            TableColumn("PK", minimum: 4, maximum: 12, growth: 1, dropPriority: 4),
            // RULES grows as much as ERROR until its longest text fits, so a
            // wide terminal shows the rule ids whole.
            TableColumn("RULES", minimum: 6, maximum: rulesWidth(rows), growth: 4, dropPriority: 5),
            TableColumn("STATUS", minimum: 10),
            TableColumn("ERROR", minimum: 24, growth: 4),
        ]
    }

    /// Returns the cells the longest RULES text needs, at most ``maximumRulesWidth``.
    ///
    /// This runs over every journalled failure on every frame, so it counts
    /// UTF-8 bytes, which is constant time for a native string, instead of
    /// characters. A byte count is never below the cells a text takes, so
    /// ids with non-ASCII letters get a little extra room, never too little.
    static func rulesWidth(_ rows: [FailureSummary]) -> Int {
        var widest = 6
        for row in rows {
            // "N: a, b": the count, ": ", the ids and ", " between them.
            let count = row.ruleIDs.count
            var width = String(count).utf8.count + 2 + max(0, count - 1) * 2
            for id in row.ruleIDs { width += id.utf8.count }
            if width > widest {
                widest = width
                if widest >= maximumRulesWidth { return maximumRulesWidth }
            }
        }
        return widest
    }

    /// Wider rule lists are cut, so the error keeps room.
    static let maximumRulesWidth = 80

    static func startsDescending(_ column: Int) -> Bool { column == 1 || column == 2 }

    static func key(_ row: FailureSummary) -> RowKey { .failure(row.id) }

    static func cells(_ row: FailureSummary, _ context: CellContext) -> [String] {
        [
            context.marked.contains(row.id) ? String(context.glyphs.marked) : " ",
            Format.clock(row.lastFailedAt), "#\(row.batchID)", row.dispatcher, row.model,
            ValuePreview.json(row.pk, limit: 24), LiveBatchesPane.rulesText(row.ruleIDs),
            statusText(row, context.glyphs), ValuePreview.bounded(row.error, limit: 400),
        ]
    }

    static func statusText(_ row: FailureSummary, _ glyphs: Glyphs) -> String {
        switch row.status {
        case .resolved: return glyphs.resolved.isEmpty ? "resolved" : "\(glyphs.resolved) resolved"
        case .retrying: return "retrying"
        case .open: return row.deadLettered ? "dead" : "open"
        }
    }

    /// Returns the status words the `state:` qualifier matches.
    static func stateWord(_ row: FailureSummary) -> String {
        row.status == .open && row.deadLettered ? "dead open" : row.status.rawValue
    }

    static func style(_ row: FailureSummary, _ context: CellContext) -> CellStyle {
        var style: CellStyle
        switch row.status {
        case .resolved: style = CellStyle(.dim, role: .muted)
        case .retrying: style = CellStyle(role: .warning)
        case .open: style = CellStyle(role: .bad)
        }
        if context.marked.contains(row.id) { style = style.adding(.bold) }
        return style
    }

    static func precedes(_ left: FailureSummary, _ right: FailureSummary, column: Int) -> Bool {
        switch column {
        case 0: return (left.status == .resolved ? 1 : 0) < (right.status == .resolved ? 1 : 0)
        case 2: return left.batchID < right.batchID
        case 3: return left.dispatcher < right.dispatcher
        case 4: return left.model < right.model
        case 5: return ValuePreview.json(left.pk, limit: 24) < ValuePreview.json(right.pk, limit: 24)
        case 6: return left.ruleIDs.count < right.ruleIDs.count
        case 7: return left.status.rawValue < right.status.rawValue
        case 8: return left.error < right.error
        default: return left.lastFailedAt < right.lastFailedAt
        }
    }

    static func matches(_ row: FailureSummary, _ filter: FilterQuery) -> Bool {
        filter.matches(
            dispatcher: row.dispatcher, model: row.model, state: stateWord(row),
            fields: ["#\(row.batchID)", ValuePreview.json(row.pk, limit: 24), row.error, row.errorKind.rawValue] + row.ruleIDs)
    }
}
