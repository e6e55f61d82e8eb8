/// The cells of a frame that differ from the frame drawn before it.
public enum FrameDiff {
    /// Per changed row, the first and last changed columns, widened so a
    /// wide character is never split. Every row counts as changed when
    /// there is no previous frame or its size differs.
    public static func changedSpans(from previous: ScreenGrid?, to frame: ScreenGrid) -> [(row: Int, columns: ClosedRange<Int>)] {
        guard frame.width > 0 else { return [] }
        guard let previous, previous.width == frame.width, previous.height == frame.height else {
            return (0..<frame.height).map { ($0, 0...(frame.width - 1)) }
        }
        var spans: [(row: Int, columns: ClosedRange<Int>)] = []
        for row in 0..<frame.height {
            let base = row * frame.width
            var first = -1
            var last = -1
            for column in 0..<frame.width where frame.cells[base + column] != previous.cells[base + column] {
                if first < 0 { first = column }
                last = column
            }
            guard first >= 0 else { continue }
            if first > 0, frame.cells[base + first].width == 0 { first -= 1 }
            if last + 1 < frame.width, frame.cells[base + last + 1].width == 0 { last += 1 }
            spans.append((row, first...last))
        }
        return spans
    }
}
