/// A frame of the console: a fixed grid of cells that panes draw into.
///
/// Every write is clipped to the grid and to an optional width limit, so
/// nothing can land outside it. Text is placed by display cells, so wide
/// characters keep columns aligned. Control characters in text are shown
/// as a replacement glyph and never reach the terminal; in ASCII mode every
/// non-ASCII character is shown as `?`.
public struct ScreenGrid: Sendable, Equatable {
    public let width: Int
    public let height: Int
    /// Replace every non-ASCII character, for locales that cannot show them.
    public let asciiOnly: Bool
    public private(set) var cells: [Cell]

    public init(width: Int, height: Int, asciiOnly: Bool = false) {
        self.width = max(0, width)
        self.height = max(0, height)
        self.asciiOnly = asciiOnly
        cells = Array(repeating: .blank, count: self.width * self.height)
    }

    public subscript(row: Int, column: Int) -> Cell {
        cells[row * width + column]
    }

    /// Fills `rect` (clipped to the grid) with spaces in `style`.
    public mutating func fill(_ rect: Rect, style: CellStyle = .plain, character: Character = " ") {
        let top = max(0, rect.row)
        let bottom = min(height, rect.bottom)
        let left = max(0, rect.column)
        let right = min(width, rect.right)
        guard top < bottom, left < right else { return }
        let cell = Cell(character, style: style)
        for row in top..<bottom {
            let base = row * width
            for column in left..<right {
                cells[base + column] = cell
            }
        }
    }

    /// Applies `change` to the style of the cells in `rect` (clipped).
    public mutating func restyle(_ rect: Rect, _ change: (inout CellStyle) -> Void) {
        let top = max(0, rect.row)
        let bottom = min(height, rect.bottom)
        let left = max(0, rect.column)
        let right = min(width, rect.right)
        guard top < bottom, left < right else { return }
        for row in top..<bottom {
            for column in left..<right {
                change(&cells[row * width + column].style)
            }
        }
    }

    /// Writes `text` from (`row`, `column`), at most `limit` cells wide, and
    /// returns the number of cells written. A wide character that would
    /// straddle the limit is replaced by a space.
    @discardableResult
    public mutating func write(_ text: String, row: Int, column: Int, limit: Int? = nil, style: CellStyle = .plain) -> Int {
        guard row >= 0, row < height, column < width else { return 0 }
        let end = min(width, limit.map { column + max(0, $0) } ?? width)
        var position = column
        for character in text {
            if position >= end { break }
            let (shown, cellWidth) = displayable(character)
            if cellWidth == 0 { continue }
            if position + cellWidth > end {
                if position >= 0 { cells[row * width + position] = Cell(" ", style: style) }
                position += 1
                break
            }
            if position >= 0 {
                cells[row * width + position] = Cell(shown, width: UInt8(cellWidth), style: style)
                if cellWidth == 2 { cells[row * width + position + 1] = .continuation(style) }
            } else if position + cellWidth > 0 {
                // The right half of a wide character at a negative column: show a space.
                cells[row * width] = Cell(" ", style: style)
            }
            position += cellWidth
        }
        return max(0, position - max(0, column))
    }

    /// Writes `text` padded or truncated to exactly `width` cells, with an
    /// ellipsis where it was cut.
    public mutating func write(
        _ text: String, row: Int, column: Int, width fieldWidth: Int, alignment: TextAlignment = .left,
        style: CellStyle = .plain
    ) {
        guard fieldWidth > 0 else { return }
        let fitted = TextFit.fit(text, width: fieldWidth, alignment: alignment, ascii: asciiOnly)
        write(fitted, row: row, column: column, limit: fieldWidth, style: style)
    }

    /// Returns the character to draw for `character` and its width. A
    /// zero-width character on its own gets width 0 and is dropped.
    @inline(__always)
    private func displayable(_ character: Character) -> (Character, Int) {
        if let ascii = character.asciiValue {
            if ascii >= 0x20 && ascii < 0x7F { return (character, 1) }
            if ascii == 0x09 { return (" ", 1) }
            return (asciiOnly ? "?" : "\u{FFFD}", 1)
        }
        if asciiOnly { return (Self.asciiFallback[character] ?? "?", 1) }
        if character.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
            return ("\u{FFFD}", 1)
        }
        return (character, DisplayWidth.of(character))
    }

    /// ASCII stand-ins for the symbols the console itself writes.
    static let asciiFallback: [Character: Character] = [
        "·": "-", "…": "~", "↑": "^", "↓": "v", "←": "<", "→": ">", "◀": "<", "▶": ">", "✓": "+", "■": "#",
        "▲": "^", "▼": "v", "─": "-", "│": "|", "µ": "u",
    ]

    // MARK: - Text form

    /// Returns one row as text. The right halves of wide characters add nothing.
    public func text(row: Int) -> String {
        var line = ""
        line.reserveCapacity(width)
        let base = row * width
        for column in 0..<width where cells[base + column].width != 0 {
            line.append(cells[base + column].character)
        }
        return line
    }

    /// Every row as text, trailing spaces removed, joined by newlines.
    public var text: String {
        (0..<height).map { text(row: $0).trimmingTrailingSpaces() }.joined(separator: "\n")
    }
}

extension String {
    func trimmingTrailingSpaces() -> String {
        var end = endIndex
        while end > startIndex, self[index(before: end)] == " " {
            end = index(before: end)
        }
        return String(self[startIndex..<end])
    }
}
