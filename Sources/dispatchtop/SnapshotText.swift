import Engine
import Foundation

/// A plain-text snapshot for `--once --format text`: one block per pane,
/// aligned columns, no terminal codes.
enum SnapshotText {
    static func render(_ snapshot: EngineSnapshot, source: String) -> String {
        var lines: [String] = []
        let events = snapshot.events
        lines.append("dispatchtop at \(UTCTime.clock(secondsSinceEpoch: snapshot.time)) UTC  events: \(source)")
        lines.append("events read \(events.read), rejected \(events.rejected), dispatches \(events.dispatches)")
        if let broker = snapshot.brokerStatus {
            lines.append("broker \(broker.label): \(broker.isUp ? "up" : "DOWN")\(broker.detail.map { " (\($0))" } ?? "")")
        }
        lines.append("")
        lines.append(row(["DISPATCHER", "RUNS ON", "BATCH", "IN-FLIGHT", "DONE", "FAILED", "P99"], widths: [12, 26, 6, 10, 10, 8, 10]))
        for figures in snapshot.dispatchers {
            lines.append(
                row(
                    [figures.name, figures.runsOn, figures.batching ? "yes" : "no", String(figures.inFlight),
                     String(figures.done), String(figures.failed), formatMicros(figures.runTimeP99)],
                    widths: [12, 26, 6, 10, 10, 8, 10]))
        }
        if !snapshot.queues.isEmpty {
            lines.append("")
            lines.append(row(["QUEUE", "READY", "IN-FLIGHT", "DELAYED", "FAILED"], widths: [36, 8, 10, 8, 8]))
            for queue in snapshot.queues {
                let depth = queue.depth
                lines.append(
                    row(
                        [depth.name, count(depth.ready), count(depth.inFlight), count(depth.delayed), count(depth.failed)],
                        widths: [36, 8, 10, 8, 8]))
            }
        }
        lines.append("")
        lines.append("failures: \(snapshot.failures.open) open of \(snapshot.failures.total)")
        for failure in snapshot.failures.rows.suffix(10).reversed() {
            lines.append(
                "  #\(failure.id) \(UTCTime.clock(secondsSinceEpoch: failure.lastFailedAt)) \(failure.dispatcher) "
                    + "\(failure.model) \(JSONWriter.string(failure.pk)) [\(failure.status.rawValue)] \(failure.error)")
        }
        return lines.joined(separator: "\n")
    }

    private static func count(_ value: Int?) -> String { value.map(String.init) ?? "-" }

    static func formatMicros(_ value: UInt64?) -> String {
        guard let value else { return "-" }
        if value < 1000 { return "\(value)µs" }
        if value < 1_000_000 { return String(format: "%.1fms", Double(value) / 1000) }
        return String(format: "%.2fs", Double(value) / 1_000_000)
    }

    private static func row(_ cells: [String], widths: [Int]) -> String {
        zip(cells, widths).map { cell, width in
            cell.count >= width ? String(cell.prefix(width - 1)) + " " : cell + String(repeating: " ", count: width - cell.count)
        }.joined()
    }
}
