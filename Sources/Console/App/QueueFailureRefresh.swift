import Brokers
import Dispatch
import Engine
import Synchronization

/// Reads the failed messages of the queue whose detail view is open again
/// every few seconds, on a background thread, so the list follows the
/// broker while new failures arrive or a worker requeues some.
///
/// The console's loop calls ``poll(state:broker:now:)`` once per frame. At
/// most one read runs at a time, and its result is applied by the loop.
final class QueueFailureRefresh {
    /// Seconds between two reads of the same open view.
    static let interval = 2.0
    /// The newest messages listed, as when the view opens.
    static let listLimit = 500

    private let reading = ReadingBox()
    private var inFlight = false
    private var lastRead = 0.0

    /// Records that the open view was read at `now`, as on opening.
    func markRead(now: Double) {
        lastRead = now
    }

    /// Applies a finished read to `state`, then starts the next one when the
    /// open view is due.
    func poll(state: inout ConsoleState, broker: (any MessageBroker)?, now: Double) {
        if let result = reading.take() {
            inFlight = false
            state.applyBrokerFailures(result.messages, queue: result.queue)
        }
        guard !inFlight, let broker, now - lastRead >= Self.interval,
            case .detail(.queue(let queue, .loaded, _), _, _)? = state.dialog,
            let (system, name) = Self.brokerQueue(queue)
        else { return }
        inFlight = true
        lastRead = now
        let reading = reading
        DispatchQueue.global().async {
            let messages = broker.failedMessages(system: system, queue: name, limit: Self.listLimit)
            reading.store(queue: queue, messages: messages)
        }
    }

    /// Splits a probe's queue name, `system:queue`, into the broker system and
    /// the queue. Returns nil when the name has no known system.
    static func brokerQueue(_ name: String) -> (BrokerSystem, String)? {
        let parts = name.split(separator: ":", maxSplits: 1).map(String.init)
        guard parts.count == 2, let system = BrokerSystem(rawValue: parts[0]) else { return nil }
        return (system, parts[1])
    }

    /// The result of the read in flight, handed from its thread to the loop.
    private final class ReadingBox: Sendable {
        private let value = Mutex<(queue: String, messages: [FailedMessage])?>(nil)

        func store(queue: String, messages: [FailedMessage]) {
            value.withLock { $0 = (queue, messages) }
        }

        func take() -> (queue: String, messages: [FailedMessage])? {
            value.withLock { current in
                defer { current = nil }
                return current
            }
        }
    }
}

extension ConsoleState {
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
