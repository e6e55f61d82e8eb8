import Foundation
import Synchronization

/// Passes at most `limit` records per message every `window` seconds to
/// another handler, so a storm of the same line (a broker outage puts every
/// batch in the outbox) cannot fill the disk.
///
/// Records are grouped by label, level and fixed message, not by metadata.
/// Once a window with dropped records has ended, the next record of any
/// group is preceded by a line per such group with the number dropped.
/// ``flush()`` writes the counts still pending, so none is lost at exit.
public final class RateLimitedLogHandler: LogHandler {
    private struct Group {
        var label: String
        var level: LogLevel
        var message: String
        var windowStart: Date
        var passed = 0
        var dropped = 0
    }

    private struct State {
        var groups: [String: Group] = [:]
        /// The earliest end of a window with dropped records; nil when none.
        var nextDue: Date?
    }

    private let next: any LogHandler
    private let limit: Int
    private let window: Double
    private let state = Mutex(State())

    public init(_ next: any LogHandler, limit: Int = 20, window: Double = 10) {
        self.next = next
        self.limit = max(1, limit)
        self.window = max(0.001, window)
    }

    public func emit(_ record: LogRecord) {
        let key = "\(record.label)\u{1F}\(record.level)\u{1F}\(record.message)"
        let (pass, summaries) = state.withLock { state -> (Bool, [LogRecord]) in
            var summaries = takeDue(&state, now: record.time, all: false)
            var group = state.groups[key]
                ?? Group(label: record.label, level: record.level, message: record.message, windowStart: record.time)
            if record.time.timeIntervalSince(group.windowStart) >= window {
                if group.dropped > 0 { summaries.append(summary(of: group, at: record.time)) }
                group.windowStart = record.time
                group.passed = 0
                group.dropped = 0
            }
            let pass = group.passed < limit
            if pass {
                group.passed += 1
            } else {
                group.dropped += 1
                let end = group.windowStart.addingTimeInterval(window)
                state.nextDue = min(state.nextDue ?? end, end)
            }
            state.groups[key] = group
            return (pass, summaries)
        }
        for line in summaries { next.emit(line) }
        if pass { next.emit(record) }
    }

    /// Writes the dropped counts not yet reported, whatever their window.
    public func flush() {
        let summaries = state.withLock { takeDue(&$0, now: Date(), all: true) }
        for line in summaries { next.emit(line) }
        next.flush()
    }

    /// Removes and returns the counts of the groups whose window with
    /// dropped records has ended by `now`, or of every such group when `all`.
    private func takeDue(_ state: inout State, now: Date, all: Bool) -> [LogRecord] {
        guard let due = state.nextDue, all || now >= due else { return [] }
        var summaries: [LogRecord] = []
        var nextDue: Date?
        for (key, group) in state.groups where group.dropped > 0 {
            let end = group.windowStart.addingTimeInterval(window)
            if all || now >= end {
                summaries.append(summary(of: group, at: now))
                state.groups[key]?.dropped = 0
            } else {
                nextDue = min(nextDue ?? end, end)
            }
        }
        state.nextDue = nextDue
        return summaries
    }

    private func summary(of group: Group, at time: Date) -> LogRecord {
        LogRecord(
            time: time, level: group.level, label: group.label, message: "Repeated lines dropped",
            metadata: [("message", group.message), (LogKey.count, String(group.dropped)), ("window_s", String(window))])
    }
}
