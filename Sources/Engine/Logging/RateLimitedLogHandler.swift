import Foundation
import Synchronization

/// Passes at most `limit` records per message every `window` seconds to
/// another handler, so a storm of the same line (a broker outage puts every
/// batch in the outbox) cannot fill the disk.
///
/// Records are grouped by label, level and fixed message, not by metadata.
/// When a window in which records were dropped ends, the next record of that
/// group is preceded by one line saying how many were dropped.
public final class RateLimitedLogHandler: LogHandler {
    private struct Group {
        var windowStart: Date
        var passed = 0
        var dropped = 0
    }

    private let next: any LogHandler
    private let limit: Int
    private let window: Double
    private let groups = Mutex<[String: Group]>([:])

    public init(_ next: any LogHandler, limit: Int = 20, window: Double = 10) {
        self.next = next
        self.limit = max(1, limit)
        self.window = max(0.001, window)
    }

    public func emit(_ record: LogRecord) {
        let key = "\(record.label)\u{1F}\(record.level)\u{1F}\(record.message)"
        let (pass, droppedBefore) = groups.withLock { groups -> (Bool, Int) in
            var group = groups[key] ?? Group(windowStart: record.time)
            var droppedBefore = 0
            if record.time.timeIntervalSince(group.windowStart) >= window {
                droppedBefore = group.dropped
                group = Group(windowStart: record.time)
            }
            let pass = group.passed < limit
            if pass { group.passed += 1 } else { group.dropped += 1 }
            groups[key] = group
            return (pass, droppedBefore)
        }
        if droppedBefore > 0 {
            next.emit(
                LogRecord(
                    time: record.time, level: record.level, label: record.label,
                    message: "Repeated lines dropped",
                    metadata: [("message", record.message), (LogKey.count, String(droppedBefore)),
                               ("window_s", String(window))]))
        }
        if pass { next.emit(record) }
    }
}
