import Engine

/// The selection of one pane: the row's identity, so it follows its row
/// while data moves, and its last position, used when the row is gone.
public struct PaneSelection: Sendable, Equatable {
    public var key: RowKey?
    public var index = 0
}

/// Everything the operator has set up on screen: focus, selections,
/// sorting, the filter, marks, the open dialog and the status message.
/// Pure data; ``ConsoleState/handle(_:views:context:)`` changes it.
public struct ConsoleState: Sendable {
    public var focus = PaneID.dispatchers
    public var selections: [PaneID: PaneSelection] = [:]
    public var scrolls: [PaneID: Int] = [:]
    /// Visible rows per pane in the last frame, for paging.
    public var pageSizes: [PaneID: Int] = [:]
    public var sorts: [PaneID: SortOrder] = [:]
    /// Journal ids of marked failures.
    public var marked: Set<Int64> = []
    public var filter = FilterQuery()
    /// The filter line being edited, and the filter to restore on Esc.
    public var filterDraft: String?
    var filterBeforeEditing = FilterQuery()
    /// When the edited line becomes the filter, in seconds since the Unix
    /// epoch; nil when the filter in force matches the line. Each key moves
    /// it ``filterDelay`` on, so the rows are filtered again only once typing
    /// pauses: with tens of thousands of failures listed, filtering takes
    /// tens of milliseconds, too long to spend on every key of a paste.
    public var filterDue: Double?
    /// The pause in typing, in seconds, after which the edited line applies.
    public static let filterDelay = 0.1
    public var dialog: Dialog?
    public var status: StatusMessage?

    public init() {}

    public func sort(of pane: PaneID) -> SortOrder {
        sorts[pane] ?? Self.defaultSort(pane)
    }

    static func defaultSort(_ pane: PaneID) -> SortOrder {
        switch pane {
        case .dispatchers: return DispatchersPane.defaultSort
        case .liveBatches: return LiveBatchesPane.defaultSort
        case .queues: return QueuesPane.defaultSort
        case .failures: return FailuresPane.defaultSort
        }
    }

    public func selectedIndex(_ pane: PaneID) -> Int {
        selections[pane]?.index ?? 0
    }

    /// Shows `text` in the status line for ``StatusMessage/lifetime`` seconds.
    /// - Parameter fix: the end of `text` that names the fix, kept whole when the text is shortened to fit.
    public mutating func post(
        _ text: String, level: StatusMessage.Level = .info, topic: StatusMessage.Topic = .general, fix: String? = nil,
        now: Double
    ) {
        status = StatusMessage(
            text: text, level: level, expiresAt: now + StatusMessage.lifetime, topic: topic,
            fix: fix.flatMap { text.hasSuffix($0) ? $0 : nil })
    }

    /// Makes the edited filter line the filter once typing has paused for
    /// ``filterDelay``; returns whether the filter changed.
    @discardableResult
    public mutating func applyDueFilter(now: Double) -> Bool {
        guard let due = filterDue, now >= due, let draft = filterDraft else { return false }
        filterDue = nil
        filter = FilterQuery(draft)
        return true
    }

    /// Drops an expired status message.
    public mutating func expireStatus(now: Double) {
        if let status, status.expiresAt <= now { self.status = nil }
    }

    /// Points every selection at a row that exists in `views`: the same row
    /// when it is still shown, else the row now at its old position.
    public mutating func reconcile(with views: PaneViews) {
        for pane in PaneID.allCases {
            var selection = selections[pane] ?? PaneSelection()
            let count = views.count(pane)
            // A selection on the first row stays there, so a list whose new
            // rows arrive at the top (live batches, failures) keeps showing them.
            if selection.index == 0 {
                selection.key = views.key(pane, at: 0)
            } else if let key = selection.key, let found = views.index(of: key, in: pane) {
                selection.index = found
            } else {
                selection.index = count == 0 ? 0 : min(max(0, selection.index), count - 1)
                selection.key = views.key(pane, at: selection.index)
            }
            selections[pane] = selection
        }
    }

    mutating func select(_ pane: PaneID, index: Int, views: PaneViews) {
        let count = views.count(pane)
        let clamped = count == 0 ? 0 : min(max(0, index), count - 1)
        selections[pane] = PaneSelection(key: views.key(pane, at: clamped), index: clamped)
    }
}
