import Brokers
import Dispatch
import Engine
import Synchronization

/// Reads the failed messages of the queue whose detail view is open, on a
/// background thread. The first read starts at once, while the view shows
/// the list as loading. Later reads follow every few seconds, so the list
/// keeps up with new failures and with messages a worker requeues.
///
/// The console's loop calls ``poll(state:broker:now:)`` once per frame. At
/// most one read runs at a time, and its result is applied by the loop.
final class QueueFailureRefresh {
    /// Seconds between two reads of the same open view.
    static let interval = 2.0
    /// The newest messages listed. `R` reads the rest from the broker as it goes.
    static let listLimit = 500

    private let reading = ReadingBox()
    private var inFlight = false
    private var lastRead = 0.0
    /// Counts ``requestRead()`` calls, so a read started before the latest
    /// request (a list from before a requeue) is dropped, not shown.
    private var generation = 0

    /// Records that the open view was read at `now`, so the next read is due
    /// an interval later.
    func markRead(now: Double) {
        lastRead = now
    }

    /// Asks for a fresh read at the next poll, discarding any read in flight.
    func requestRead() {
        generation += 1
        lastRead = -Double.infinity
    }

    /// Applies a finished read to `state`, then starts the next one when the
    /// open view is loading or due.
    func poll(state: inout ConsoleState, broker: (any MessageBroker)?, now: Double) {
        if let result = reading.take() {
            inFlight = false
            if result.generation == generation {
                state.showBrokerFailures(result.messages, queue: result.queue)
            }
        }
        guard !inFlight, let broker, case .detail(.queue(let queue, let failures, _), _, _)? = state.dialog else { return }
        switch failures {
        case .loading: break
        case .loaded: guard now - lastRead >= Self.interval else { return }
        case .noBroker: return
        }
        inFlight = true
        lastRead = now
        let reading = reading
        let generation = generation
        DispatchQueue.global().async {
            // A queue name without a known system has no failed messages to read.
            let messages = Self.brokerQueue(queue).map { system, name in
                broker.failedMessages(system: system, queue: name, limit: Self.listLimit)
            }
            reading.store(ReadResult(queue: queue, generation: generation, messages: messages ?? []))
        }
    }

    /// Splits a probe's queue name, `system:queue`, into the broker system and
    /// the queue. Returns nil when the name has no known system.
    static func brokerQueue(_ name: String) -> (BrokerSystem, String)? {
        let parts = name.split(separator: ":", maxSplits: 1).map(String.init)
        guard parts.count == 2, let system = BrokerSystem(rawValue: parts[0]) else { return nil }
        return (system, parts[1])
    }

    private struct ReadResult: Sendable {
        var queue: String
        var generation: Int
        var messages: [FailedMessage]
    }

    /// The result of the read in flight, handed from its thread to the loop.
    private final class ReadingBox: Sendable {
        private let value = Mutex<ReadResult?>(nil)

        func store(_ result: ReadResult) {
            value.withLock { $0 = result }
        }

        func take() -> ReadResult? {
            value.withLock { current in
                defer { current = nil }
                return current
            }
        }
    }
}

extension ConsoleState {
    /// Shows a reading of the broker's failed messages in the open detail
    /// view of `queue`: as its first list when the view shows them as loading,
    /// else through ``applyBrokerFailures(_:queue:)``.
    mutating func showBrokerFailures(_ messages: [FailedMessage], queue: String) {
        if case .detail(.queue(queue, .loading, _), let scroll, let full)? = dialog {
            dialog = .detail(.queue(queue, brokerFailures: .loaded(messages)), scroll: scroll, fullValues: full)
            return
        }
        applyBrokerFailures(messages, queue: queue)
    }

    /// Replaces the failed messages of an open queue detail view with a newer
    /// reading. A selection on the first (newest) message stays on the first,
    /// so the view follows new failures. Another selected message stays
    /// selected while the broker still lists it. Returns false when no view
    /// of `queue` with a list is open.
    @discardableResult
    mutating func applyBrokerFailures(_ messages: [FailedMessage], queue: String) -> Bool {
        guard case .detail(.queue(queue, .loaded(let previous), let selected), let scroll, let full)? = dialog else {
            return false
        }
        var position = min(selected, max(0, messages.count - 1))
        if selected > 0, previous.indices.contains(selected) {
            let id = previous[selected].messageID
            position = messages.firstIndex { $0.messageID == id } ?? position
        }
        dialog = .detail(.queue(queue, brokerFailures: .loaded(messages), selected: position), scroll: scroll, fullValues: full)
        return true
    }
}
