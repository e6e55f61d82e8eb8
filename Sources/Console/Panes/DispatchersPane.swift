import Engine

/// Every registered dispatcher with its figures.
enum DispatchersPane: TablePane {
    typealias Row = DispatcherSnapshot
    static let pane = PaneID.dispatchers
    static let defaultSort = SortOrder(column: 0, descending: false)

    static func columns(_ rows: [DispatcherSnapshot]) -> [TableColumn] {
        var columns = [
            TableColumn("NAME", minimum: 10, maximum: 16, growth: 1),
            TableColumn("RUNS ON", minimum: 10, maximum: 32, growth: 2, dropPriority: 4),
            TableColumn("BATCH", minimum: 5, dropPriority: 6),
            TableColumn("IN-FLIGHT", minimum: 9, alignment: .right),
            TableColumn("QUEUED", minimum: 6, alignment: .right, dropPriority: 3),
            TableColumn("DONE", minimum: 7, alignment: .right),
            TableColumn("FAILED", minimum: 6, alignment: .right),
            TableColumn("P50", minimum: 6, alignment: .right, dropPriority: 5),
            TableColumn("P99", minimum: 6, alignment: .right, dropPriority: 2),
            TableColumn("RATE/s", minimum: 6, alignment: .right, dropPriority: 7),
            // Batches handed to a real broker, whose workers report elsewhere,
            // never count as done. With such a dispatcher the column is kept
            // long; with none it is the first to go on a narrow screen.
            TableColumn(
                "SENT", minimum: 7, alignment: .right, dropPriority: rows.contains { $0.sent > 0 } ? 2 : 8),
        ]
        // The fault column appears only while a fault is injected, and then it
        // is kept longer than the figures.
        if rows.contains(where: { $0.fault?.isActive ?? false }) {
            columns.append(TableColumn("FAULT", minimum: 10, maximum: 18, growth: 1, dropPriority: 1))
        }
        return columns
    }

    static func startsDescending(_ column: Int) -> Bool { column >= 3 }

    static func key(_ row: DispatcherSnapshot) -> RowKey { .dispatcher(row.name) }

    static func cells(_ row: DispatcherSnapshot, _ context: CellContext) -> [String] {
        [
            row.name, row.runsOn, row.batching ? "yes" : "no", Format.count(row.inFlight), Format.count(row.queued),
            Format.count(row.done), Format.count(row.failed), Format.micros(row.runTimeP50, ascii: context.ascii),
            Format.micros(row.runTimeP99, ascii: context.ascii), Format.rate(row.rate10s), Format.count(row.sent),
            faultText(row.fault),
        ]
    }

    static func faultText(_ fault: FaultSetting?) -> String {
        guard let fault, fault.isActive else { return "-" }
        var parts: [String] = []
        if fault.failurePercent > 0 { parts.append("\(fault.failurePercent)% fail") }
        if fault.addedLatencyMilliseconds > 0 { parts.append("+\(fault.addedLatencyMilliseconds)ms") }
        return parts.joined(separator: " ")
    }

    static func style(_ row: DispatcherSnapshot, _ context: CellContext) -> CellStyle {
        if row.fault?.isActive ?? false { return CellStyle(role: .warning) }
        return .plain
    }

    static func precedes(_ left: DispatcherSnapshot, _ right: DispatcherSnapshot, column: Int) -> Bool {
        switch column {
        case 1: return left.runsOn < right.runsOn
        case 2: return !left.batching && right.batching
        case 3: return left.inFlight < right.inFlight
        case 4: return left.queued < right.queued
        case 5: return left.done < right.done
        case 6: return left.failed < right.failed
        case 7: return ascending(left.runTimeP50, right.runTimeP50)
        case 8: return ascending(left.runTimeP99, right.runTimeP99)
        case 9: return left.rate10s < right.rate10s
        case 10: return left.sent < right.sent
        case 11: return (left.fault?.failurePercent ?? 0) < (right.fault?.failurePercent ?? 0)
        default: return left.name < right.name
        }
    }

    static func matches(_ row: DispatcherSnapshot, _ filter: FilterQuery) -> Bool {
        // A model or state qualifier does not apply to a dispatcher, so it does not hide one.
        var relevant = filter
        relevant.model = []
        relevant.state = []
        return relevant.matches(dispatcher: row.name, model: nil, state: nil, fields: [row.runsOn])
    }
}
