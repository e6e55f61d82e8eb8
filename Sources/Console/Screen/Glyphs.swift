/// The characters for borders, sparklines and markers, in Unicode or ASCII.
public struct Glyphs: Sendable, Equatable {
    public var horizontal: Character
    public var vertical: Character
    public var topLeft: Character
    public var topRight: Character
    public var bottomLeft: Character
    public var bottomRight: Character
    public var teeRight: Character
    public var teeLeft: Character
    public var teeDown: Character
    public var teeUp: Character
    /// Sparkline levels, lowest first.
    public var sparks: [Character]
    public var running: String
    public var paused: String
    public var resolved: String
    public var marked: Character
    public var sortDescending: String
    public var sortAscending: String
    public var progressFull: Character
    public var progressEmpty: Character
    public var ellipsis: String
    /// Marks the selected item of a list inside a detail view.
    public var selectedItem: String

    public static let unicode = Glyphs(
        horizontal: "─", vertical: "│", topLeft: "┌", topRight: "┐", bottomLeft: "└", bottomRight: "┘",
        teeRight: "├", teeLeft: "┤", teeDown: "┬", teeUp: "┴",
        sparks: ["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"], running: "▶ running", paused: "⏸ paused",
        resolved: "✓", marked: "*", sortDescending: "▼", sortAscending: "▲", progressFull: "█", progressEmpty: "░",
        ellipsis: "…", selectedItem: "▶")

    public static let ascii = Glyphs(
        horizontal: "-", vertical: "|", topLeft: "+", topRight: "+", bottomLeft: "+", bottomRight: "+",
        teeRight: "+", teeLeft: "+", teeDown: "+", teeUp: "+",
        sparks: ["_", ".", "-", "=", "+", "*", "#", "@"], running: "> running", paused: "|| paused",
        resolved: "ok", marked: "*", sortDescending: "v", sortAscending: "^", progressFull: "#", progressEmpty: ".",
        ellipsis: "~", selectedItem: ">")

    /// Draws a sparkline of `values` scaled to their maximum, one glyph per value,
    /// right-aligned in `width` cells (older values are dropped first).
    public func sparkline(_ values: [Int], width: Int) -> String {
        guard width > 0 else { return "" }
        let shown = values.suffix(width)
        let top = shown.max() ?? 0
        var line = String(repeating: " ", count: width - shown.count)
        for value in shown {
            if top <= 0 {
                line.append(sparks[0])
            } else {
                let level = Int((Double(max(0, value)) / Double(top) * Double(sparks.count - 1)).rounded())
                line.append(sparks[min(sparks.count - 1, level)])
            }
        }
        return line
    }

    /// Draws a progress bar `width` cells wide, `fraction` (0...1) of it full.
    public func progressBar(_ fraction: Double, width: Int) -> String {
        guard width > 0 else { return "" }
        let full = Int((min(1, max(0, fraction)) * Double(width)).rounded(.down))
        return String(repeating: progressFull, count: full) + String(repeating: progressEmpty, count: width - full)
    }
}
