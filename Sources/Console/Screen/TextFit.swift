/// The side of a wider field that text is placed against.
public enum TextAlignment: Sendable {
    case left, right
}

/// Pads and truncates text by display cells.
public enum TextFit {
    /// `text` padded or cut to exactly `width` cells; a cut ends in `…`
    /// (`~` in ASCII mode). Control characters count as one cell, as the
    /// grid shows them.
    public static func fit(_ text: String, width: Int, alignment: TextAlignment = .left, ascii: Bool = false) -> String {
        guard width > 0 else { return "" }
        let textWidth = cellWidth(text, ascii: ascii)
        if textWidth <= width {
            let padding = String(repeating: " ", count: width - textWidth)
            return alignment == .left ? text + padding : padding + text
        }
        return truncate(text, width: width, ascii: ascii)
    }

    /// `text` cut to at most `width` cells, ending in an ellipsis when cut.
    public static func truncate(_ text: String, width: Int, ascii: Bool = false) -> String {
        guard width > 0 else { return "" }
        if cellWidth(text, ascii: ascii) <= width { return text }
        var result = ""
        var used = 0
        let budget = width - 1
        for character in text {
            let characterWidth = cellWidth(character, ascii: ascii)
            if used + characterWidth > budget { break }
            result.append(character)
            used += characterWidth
        }
        result += String(repeating: " ", count: budget - used)
        return result + (ascii ? "~" : "…")
    }

    /// Returns the end of `text` in at most `width` cells, starting with an
    /// ellipsis when the start is cut: how a long field being edited shows
    /// the place where typing goes.
    public static func tail(_ text: String, width: Int, ascii: Bool = false) -> String {
        guard width > 0 else { return "" }
        if cellWidth(text, ascii: ascii) <= width { return text }
        var tailCharacters: [Character] = []
        var used = 0
        let budget = width - 1
        for character in text.reversed() {
            let characterWidth = cellWidth(character, ascii: ascii)
            if used + characterWidth > budget { break }
            tailCharacters.append(character)
            used += characterWidth
        }
        return (ascii ? "~" : "…") + String(repeating: " ", count: budget - used) + String(tailCharacters.reversed())
    }

    /// Display cells of `text` as the grid shows it.
    public static func cellWidth(_ text: String, ascii: Bool = false) -> Int {
        var total = 0
        for character in text {
            total += cellWidth(character, ascii: ascii)
        }
        return total
    }

    @inline(__always)
    static func cellWidth(_ character: Character, ascii: Bool) -> Int {
        // Printable ASCII takes one cell; ASCII controls are shown as one replacement cell.
        if character.asciiValue != nil { return 1 }
        if ascii { return 1 }
        if character.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) { return 1 }
        return DisplayWidth.of(character)
    }
}
