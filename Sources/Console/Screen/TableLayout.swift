/// One column of a list pane.
public struct TableColumn: Sendable {
    public var title: String
    /// The narrowest the column is drawn; below that it is dropped.
    public var minimumWidth: Int
    /// The width the column keeps before columns with a drop priority are
    /// drawn at all; nil means its minimum.
    public var preferredWidth: Int?
    /// The widest it grows to; nil grows without bound.
    public var maximumWidth: Int?
    /// Share of spare width it takes, relative to the other growing columns.
    public var growth: Int
    public var alignment: TextAlignment
    /// Columns with a higher number are dropped first when space runs out; 0 is never dropped.
    public var dropPriority: Int
    /// The name the pane's title gives the column when sorting by it; the
    /// title itself when nil.
    public var sortName: String?

    public init(
        _ title: String, minimum: Int, preferred: Int? = nil, maximum: Int? = nil, growth: Int = 0,
        alignment: TextAlignment = .left, dropPriority: Int = 0, sortName: String? = nil
    ) {
        self.title = title
        minimumWidth = max(1, minimum)
        preferredWidth = preferred.map { max(max(1, minimum), $0) }
        maximumWidth = maximum
        self.growth = growth
        self.alignment = alignment
        self.dropPriority = dropPriority
        self.sortName = sortName
    }
}

/// Fits columns into a width: drops the least important columns until the
/// rest fit at their minimum widths, then shares the spare width out.
public enum TableLayout {
    /// One placed column: its index in the definition, start column (relative) and width.
    public struct Placed: Sendable, Equatable {
        public var index: Int
        public var offset: Int
        public var width: Int
    }

    /// Places `columns` in `width` cells with `gap` cells between columns.
    public static func fit(_ columns: [TableColumn], width: Int, gap: Int = 1) -> [Placed] {
        var kept = Array(columns.indices)
        func required(_ indices: [Int]) -> Int {
            let cells = indices.reduce(0) { $0 + (columns[$1].preferredWidth ?? columns[$1].minimumWidth) }
            return cells + max(0, indices.count - 1) * gap
        }
        while required(kept) > width, kept.count > 1 {
            guard let victim = kept.filter({ columns[$0].dropPriority > 0 }).max(by: {
                (columns[$0].dropPriority, $0) < (columns[$1].dropPriority, $1)
            }) else { break }
            kept.removeAll { $0 == victim }
        }
        var widths = kept.map { columns[$0].preferredWidth ?? columns[$0].minimumWidth }
        // When even the columns that are never dropped miss their preferred
        // widths, those shrink back towards their minimums.
        var excess = required(kept) - width
        for position in widths.indices where excess > 0 {
            let give = min(excess, widths[position] - columns[kept[position]].minimumWidth)
            widths[position] -= give
            excess -= give
        }
        var spare = width - (widths.reduce(0, +) + max(0, kept.count - 1) * gap)
        // Hand out spare cells one round at a time so growth weights are honoured
        // and maximum widths cap each column.
        while spare > 0 {
            let growing = kept.indices.filter { position in
                let column = columns[kept[position]]
                return column.growth > 0 && widths[position] < (column.maximumWidth ?? Int.max)
            }
            if growing.isEmpty { break }
            let totalGrowth = growing.reduce(0) { $0 + columns[kept[$1]].growth }
            var handed = 0
            for position in growing {
                let column = columns[kept[position]]
                let share = max(1, spare * column.growth / totalGrowth)
                let room = (column.maximumWidth ?? Int.max) - widths[position]
                let amount = min(share, room, spare - handed)
                if amount <= 0 { continue }
                widths[position] += amount
                handed += amount
            }
            if handed == 0 { break }
            spare -= handed
        }
        var placed: [Placed] = []
        var offset = 0
        for (position, index) in kept.enumerated() {
            let clipped = min(widths[position], max(0, width - offset))
            if clipped <= 0 { break }
            placed.append(Placed(index: index, offset: offset, width: clipped))
            offset += widths[position] + gap
        }
        return placed
    }
}
