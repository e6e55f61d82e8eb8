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
        lines += table(
            ["DISPATCHER", "RUNS ON", "BATCH", "IN-FLIGHT", "DONE", "FAILED", "SENT", "P99"],
            snapshot.dispatchers.map { figures in
                [
                    figures.name, figures.runsOn, figures.batching ? "yes" : "no", String(figures.inFlight),
                    String(figures.done), String(figures.failed), String(figures.sent), formatMicros(figures.runTimeP99),
                ]
            })
        if !snapshot.queues.isEmpty {
            lines.append("")
            lines += table(
                ["QUEUE", "READY", "IN-FLIGHT", "DELAYED", "FAILED", "SOURCE"],
                snapshot.queues.map { queue in
                    let depth = queue.depth
                    return [
                        depth.name, count(depth.ready), count(depth.inFlight), count(depth.delayed), count(depth.failed),
                        depth.note.map { "\(depth.source); \($0)" } ?? depth.source,
                    ]
                })
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

    /// Aligns columns to their widest cell, two spaces apart; nothing is cut.
    private static func table(_ header: [String], _ rows: [[String]]) -> [String] {
        let all = [header] + rows
        let widths = header.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
        return all.map { cells in
            zip(cells, widths).map { cell, width in cell + String(repeating: " ", count: width - cell.count) }
                .joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }
    }
}
