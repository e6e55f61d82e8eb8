import Engine

/// Batches in flight, newest first, then recently finished ones.
enum LiveBatchesPane: TablePane {
    typealias Row = LiveBatch
    static let pane = PaneID.liveBatches
    /// The engine's own order (in flight newest first, then finished newest first) is kept by default.
    static let defaultSort = SortOrder(column: -1, descending: false)

    static func columns(_ rows: [LiveBatch]) -> [TableColumn] {
        [
            TableColumn("ID", minimum: idWidth(rows.lazy.map(\.id).max()), alignment: .right),
            TableColumn("DISPATCHER", minimum: 10, maximum: 12, growth: 1, dropPriority: 2),
            TableColumn("MODEL", minimum: 10, maximum: 22, growth: 2),
            TableColumn("PK", minimum: 4, maximum: 14, growth: 1, dropPriority: 3),
            TableColumn("RULES", minimum: 8, growth: 3, dropPriority: 5),
            TableColumn("AGE", minimum: 5, alignment: .right, dropPriority: 4),
            TableColumn("STATE", minimum: 8),
        ]
    }

    static func startsDescending(_ column: Int) -> Bool { column == 0 || column == 5 }

    static func key(_ row: LiveBatch) -> RowKey { .batch(row.id) }

    static func cells(_ row: LiveBatch, _ context: CellContext) -> [String] {
        [
            "#\(row.id)", row.dispatcher, row.model, ValuePreview.json(row.pk, limit: 24), rulesText(row.ruleIDs),
            Format.age(context.now - row.createdAt), stateText(row.state),
        ]
    }

    /// Returns the cells `#id` needs for the largest id shown, so ids are
    /// never cut; at least 6, the width of `#12345`.
    static func idWidth(_ largest: UInt64?) -> Int {
        max(6, 1 + String(largest ?? 0).count)
    }

    static func rulesText(_ ids: [String]) -> String {
        "\(ids.count): " + ids.joined(separator: ", ")
    }

    /// The state in the words the Failures pane and the `state:` filter use.
    static func stateText(_ state: BatchState) -> String {
        state.rawValue
    }

    static func style(_ row: LiveBatch, _ context: CellContext) -> CellStyle {
        switch row.state {
        case .failed, .dead: return CellStyle(.bold, role: .bad)
        case .retrying, .outbox: return CellStyle(role: .warning)
        case .done, .sent: return CellStyle(.dim, role: .muted)
        case .queued, .running: return CellStyle(role: .good)
        }
    }

    static func precedes(_ left: LiveBatch, _ right: LiveBatch, column: Int) -> Bool {
        switch column {
        case 0: return left.id < right.id
        case 1: return left.dispatcher < right.dispatcher
        case 2: return left.model < right.model
        case 3: return ValuePreview.json(left.pk, limit: 24) < ValuePreview.json(right.pk, limit: 24)
        case 4: return left.ruleIDs.count < right.ruleIDs.count
        case 5: return left.createdAt > right.createdAt
        case 6: return left.state.rawValue < right.state.rawValue
        default: return false
        }
    }

    static func matches(_ row: LiveBatch, _ filter: FilterQuery) -> Bool {
        filter.matches(
            dispatcher: row.dispatcher, model: row.model, state: row.state.rawValue,
            fields: ["#\(row.id)", ValuePreview.json(row.pk, limit: 24), row.error ?? ""] + row.ruleIDs)
    }
}
