import Engine

/// The rows of every pane for one frame: the snapshot's data plus, per
/// pane, the indices that pass the filter, in sort order.
public struct PaneViews: Sendable {
    public var dispatchers: [DispatcherSnapshot]
    public var dispatcherOrder: [Int]
    public var live: [LiveBatch]
    public var liveOrder: [Int]
    public var queues: [QueueSnapshot]
    public var queueOrder: [Int]
    public var failures: [FailureSummary]
    public var failureOrder: [Int]

    /// Builds the views; `cache` skips re-sorting the failures when neither
    /// they nor the filter and sort changed.
    public init(snapshot: EngineSnapshot, state: ConsoleState, cache: PaneOrderCache? = nil) {
        let filter = state.filter
        dispatchers = snapshot.dispatchers
        dispatcherOrder = DispatchersPane.order(dispatchers, filter: filter, sort: state.sort(of: .dispatchers))
        live = snapshot.liveBatches
        liveOrder = LiveBatchesPane.order(live, filter: filter, sort: state.sort(of: .liveBatches))
        queues = snapshot.queues
        queueOrder = QueuesPane.order(queues, filter: filter, sort: state.sort(of: .queues))
        failures = snapshot.failures.rows
        let sort = state.sort(of: .failures)
        let signature = PaneOrderCache.Signature(listing: snapshot.failures, filter: filter, sort: sort)
        if let cache, let cached = cache.failureOrder(for: signature) {
            failureOrder = cached
        } else {
            failureOrder = FailuresPane.order(failures, filter: filter, sort: sort)
            cache?.store(failureOrder, for: signature)
        }
    }

    public func count(_ pane: PaneID) -> Int {
        switch pane {
        case .dispatchers: return dispatcherOrder.count
        case .liveBatches: return liveOrder.count
        case .queues: return queueOrder.count
        case .failures: return failureOrder.count
        }
    }

    /// Returns the identity of the row at `index` (in view order) of `pane`.
    public func key(_ pane: PaneID, at index: Int) -> RowKey? {
        guard index >= 0, index < count(pane) else { return nil }
        switch pane {
        case .dispatchers: return DispatchersPane.key(dispatchers[dispatcherOrder[index]])
        case .liveBatches: return LiveBatchesPane.key(live[liveOrder[index]])
        case .queues: return QueuesPane.key(queues[queueOrder[index]])
        case .failures: return FailuresPane.key(failures[failureOrder[index]])
        }
    }

    /// Returns the view position of the row with `key` in `pane`, if it is shown.
    public func index(of key: RowKey, in pane: PaneID) -> Int? {
        switch (pane, key) {
        case (.dispatchers, .dispatcher(let name)): return dispatcherOrder.firstIndex { dispatchers[$0].name == name }
        case (.liveBatches, .batch(let id)): return liveOrder.firstIndex { live[$0].id == id }
        case (.queues, .queue(let name)): return queueOrder.firstIndex { queues[$0].depth.name == name }
        case (.failures, .failure(let id)): return failureOrder.firstIndex { failures[$0].id == id }
        default: return nil
        }
    }

    /// Returns the number of columns a pane defines, for moving the sort column.
    public func columnCount(_ pane: PaneID) -> Int {
        switch pane {
        case .dispatchers: return DispatchersPane.columns(dispatchers).count
        case .liveBatches: return LiveBatchesPane.columns(live).count
        case .queues: return QueuesPane.columns(queues).count
        case .failures: return FailuresPane.columns(failures).count
        }
    }

    /// Returns whether sorting `pane` by `column` starts descending.
    public func startsDescending(_ pane: PaneID, column: Int) -> Bool {
        switch pane {
        case .dispatchers: return DispatchersPane.startsDescending(column)
        case .liveBatches: return LiveBatchesPane.startsDescending(column)
        case .queues: return QueuesPane.startsDescending(column)
        case .failures: return FailuresPane.startsDescending(column)
        }
    }
}

/// Keeps the last sorted order of the failures, which can hold tens of
/// thousands of rows, so a frame whose failures did not change skips the sort.
public final class PaneOrderCache: @unchecked Sendable {
    // Used only by the thread that draws frames.
    struct Signature: Equatable {
        var total: Int
        var open: Int
        var count: Int
        var firstID: Int64?
        var lastID: Int64?
        var replays: Int
        var filter: String
        var sort: SortOrder

        init(listing: FailureListing, filter: FilterQuery, sort: SortOrder) {
            total = listing.total
            open = listing.open
            count = listing.rows.count
            firstID = listing.rows.first?.id
            lastID = listing.rows.last?.id
            // NOTE: a retry that changes only an error text keeps this
            // signature, so a sort by ERROR can lag until the next change.
            // The cells always show the current text.
            replays = listing.rows.last?.replayCount ?? 0
            self.filter = filter.text
            self.sort = sort
        }
    }

    private var signature: Signature?
    private var order: [Int] = []

    public init() {}

    func failureOrder(for signature: Signature) -> [Int]? {
        self.signature == signature ? order : nil
    }

    func store(_ order: [Int], for signature: Signature) {
        self.signature = signature
        self.order = order
    }
}
