import Engine

/// Broker queue depths: ready, in flight, delayed and failed, each reading
/// with its source and age, and the ready count over the last minute.
enum QueuesPane: TablePane {
    typealias Row = QueueSnapshot
    static let pane = PaneID.queues
    static let defaultSort = SortOrder(column: 0, descending: false)
    static let sparklineColumn = 5

    static func columns(_ rows: [QueueSnapshot]) -> [TableColumn] {
        [
            TableColumn("QUEUE", minimum: 14, preferred: 26, maximum: 34, growth: 1),
            TableColumn("READY", minimum: 5, alignment: .right),
            TableColumn("INFL", minimum: 4, alignment: .right, dropPriority: 4),
            TableColumn("DELAY", minimum: 5, alignment: .right, dropPriority: 3),
            TableColumn("FAIL", minimum: 4, alignment: .right),
            TableColumn("LAST 60 S", minimum: 6, maximum: 60, growth: 4, dropPriority: 2),
            TableColumn("SOURCE", minimum: 8, maximum: 18, growth: 1, dropPriority: 5),
            TableColumn("AGE", minimum: 3, alignment: .right),
        ]
    }

    static func startsDescending(_ column: Int) -> Bool { (1...4).contains(column) || column == 7 }

    static func key(_ row: QueueSnapshot) -> RowKey { .queue(row.depth.name) }

    /// Returns the cell texts. The sparkline cell is left empty because the
    /// renderer fills it once the column width is known.
    static func cells(_ row: QueueSnapshot, _ context: CellContext) -> [String] {
        let depth = row.depth
        // A rejected probe replaces the source, so the row shows why its figures are missing.
        return [
            depth.name, figure(depth.ready), figure(depth.inFlight), figure(depth.delayed), figure(depth.failed), "",
            depth.probeError == nil ? depth.source : "rejected", age(depth, context),
        ]
    }

    /// Returns the age of the figures shown: during an outage, of the last
    /// reading that contained figures, or `-` when none did.
    static func age(_ depth: QueueDepth, _ context: CellContext) -> String {
        guard let readAt = context.queueReadings.readAt(depth) else { return "-" }
        return Format.age(context.now - readAt)
    }

    /// Formats a reading, or `?` when the probe cannot read it (never a made-up 0).
    static func figure(_ value: Int?) -> String {
        value.map { Format.shortCount($0) } ?? "?"
    }

    static func style(_ row: QueueSnapshot, _ context: CellContext) -> CellStyle {
        if row.depth.probeError != nil { return CellStyle(role: .bad) }
        return (row.depth.failed ?? 0) > 0 ? CellStyle(role: .warning) : .plain
    }

    static func precedes(_ left: QueueSnapshot, _ right: QueueSnapshot, column: Int) -> Bool {
        switch column {
        case 1: return ascending(left.depth.ready, right.depth.ready)
        case 2: return ascending(left.depth.inFlight, right.depth.inFlight)
        case 3: return ascending(left.depth.delayed, right.depth.delayed)
        case 4: return ascending(left.depth.failed, right.depth.failed)
        case 5: return (left.history.max() ?? 0) < (right.history.max() ?? 0)
        case 6: return left.depth.source < right.depth.source
        case 7: return left.depth.readAt > right.depth.readAt
        default: return left.depth.name < right.depth.name
        }
    }

    static func matches(_ row: QueueSnapshot, _ filter: FilterQuery) -> Bool {
        // Queue names start with their system (`celery:`), which is also the dispatcher name.
        var relevant = filter
        relevant.model = []
        relevant.state = []
        return relevant.matches(dispatcher: row.depth.name, model: nil, state: nil, fields: [row.depth.source])
    }
}
