import Engine

/// The inputs of a row's cells besides the row itself.
public struct CellContext: Sendable {
    public var now: Double
    public var glyphs: Glyphs
    public var ascii: Bool
    public var marked: Set<Int64>
    /// When each queue's figures were last read, for the Queues pane's AGE.
    public var queueReadings: QueueReadingTimes

    public init(now: Double, glyphs: Glyphs, ascii: Bool, marked: Set<Int64> = [], queueReadings: QueueReadingTimes = QueueReadingTimes()) {
        self.now = now
        self.glyphs = glyphs
        self.ascii = ascii
        self.marked = marked
        self.queueReadings = queueReadings
    }
}

/// A list pane: its columns, how a row reads, sorts and filters.
protocol TablePane {
    associatedtype Row
    static var pane: PaneID { get }
    static func columns(_ rows: [Row]) -> [TableColumn]
    static var defaultSort: SortOrder { get }
    /// Returns whether sorting by `column` starts descending (numbers and times) or ascending (text).
    static func startsDescending(_ column: Int) -> Bool
    static func key(_ row: Row) -> RowKey
    static func cells(_ row: Row, _ context: CellContext) -> [String]
    static func style(_ row: Row, _ context: CellContext) -> CellStyle
    /// Returns whether `left` comes before `right` when sorting ascending by `column`.
    static func precedes(_ left: Row, _ right: Row, column: Int) -> Bool
    static func matches(_ row: Row, _ filter: FilterQuery) -> Bool
}

extension TablePane {
    /// Indices of the rows that match `filter`, in `sort` order over the
    /// whole data set. Ties keep the source order (reversed when descending),
    /// so the result is deterministic.
    static func order(_ rows: [Row], filter: FilterQuery, sort: SortOrder) -> [Int] {
        var indices = filter.isEmpty ? Array(rows.indices) : rows.indices.filter { matches(rows[$0], filter) }
        let column = sort.column
        indices.sort { left, right in
            let (first, second) = sort.descending ? (right, left) : (left, right)
            if precedes(rows[first], rows[second], column: column) { return true }
            if precedes(rows[second], rows[first], column: column) { return false }
            return first < second
        }
        return indices
    }
}

/// Compares optional numbers with unknown values first.
@inline(__always)
func ascending<T: Comparable>(_ left: T?, _ right: T?) -> Bool {
    switch (left, right) {
    case (nil, nil): return false
    case (nil, _): return true
    case (_, nil): return false
    case (let left?, let right?): return left < right
    }
}
