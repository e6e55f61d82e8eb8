/// The console's panes, in Tab order.
public enum PaneID: Int, CaseIterable, Sendable {
    case dispatchers, liveBatches, queues, failures

    public var title: String {
        switch self {
        case .dispatchers: return "Dispatchers"
        case .liveBatches: return "Live batches"
        case .queues: return "Queues (last 60 s)"
        case .failures: return "Failures"
        }
    }
}

/// The identity of a row, so a selection stays on its row while the data moves.
public enum RowKey: Hashable, Sendable {
    case dispatcher(String)
    case batch(UInt64)
    case queue(String)
    case failure(Int64)
}

/// A sort column and direction.
public struct SortOrder: Sendable, Equatable {
    public var column: Int
    public var descending: Bool

    public init(column: Int, descending: Bool) {
        self.column = column
        self.descending = descending
    }
}
