import Engine

/// The console's screen as plain text, with no terminal: for
/// `dispatchtop --once --format text` and for golden-frame tests.
public enum ScreenText {
    /// Renders the panes for `snapshot` at `width` by `height`, with trailing
    /// spaces trimmed and rows joined by newlines.
    public static func render(snapshot: EngineSnapshot, width: Int, height: Int, context: ScreenContext = ScreenContext()) -> String {
        ScreenModel.render(FrameInput(snapshot: snapshot, context: context), width: width, height: height).grid.text
    }

    /// Renders the attribute layer of a grid: one character per cell, `.` for
    /// none, else a hex digit of the sum of bold 1, reverse 2, dim 4 and underline 8.
    public static func attributes(_ grid: ScreenGrid) -> String {
        let digits = Array("0123456789abcdef")
        var rows: [String] = []
        for row in 0..<grid.height {
            var line = ""
            for column in 0..<grid.width {
                let bits = Int(grid[row, column].style.attributes.rawValue)
                line.append(bits == 0 ? "." : digits[bits])
            }
            rows.append(line)
        }
        return rows.joined(separator: "\n")
    }
}
