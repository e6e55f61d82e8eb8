/// Terminal display width of text, in cells.
///
/// Built from the Unicode properties Swift exposes: combining marks,
/// format characters and variation selectors take no cell; East Asian wide
/// and fullwidth blocks and emoji with emoji presentation take two. Swift
/// does not expose the East Asian Width property itself, so the wide blocks
/// are listed by range.
///
/// - Note: Terminals disagree about a few ambiguous characters, such as
///   some symbols and emoji written as a text-style base plus U+FE0F. A
///   terminal may draw those one cell wider or narrower than computed here.
public enum DisplayWidth {
    /// Cells taken by one grapheme cluster: 0, 1 or 2.
    @inline(__always)
    public static func of(_ character: Character) -> Int {
        if let ascii = character.asciiValue {
            return ascii >= 0x20 && ascii < 0x7F ? 1 : 0
        }
        return clusterWidth(character.unicodeScalars)
    }

    /// Cells taken by `text`.
    public static func of(_ text: String) -> Int {
        var total = 0
        for character in text {
            total += of(character)
        }
        return total
    }

    /// Cells taken by one Unicode scalar on its own.
    public static func of(_ scalar: Unicode.Scalar) -> Int {
        let value = scalar.value
        if value < 0x20 || (value >= 0x7F && value < 0xA0) { return 0 }
        if value < 0x300 { return 1 }
        if value == 0x200D || (0xFE00...0xFE0F).contains(value) || (0xE0100...0xE01EF).contains(value) {
            return 0
        }
        switch scalar.properties.generalCategory {
        case .nonspacingMark, .enclosingMark, .format:
            return 0
        default:
            break
        }
        if isWide(value) || scalar.properties.isEmojiPresentation {
            return 2
        }
        return 1
    }

    private static func clusterWidth(_ scalars: Character.UnicodeScalarView) -> Int {
        var width = 0
        var emojiVariation = false
        var first = true
        var firstIsEmoji = false
        for scalar in scalars {
            if first {
                width = of(scalar)
                firstIsEmoji = scalar.properties.isEmoji
                first = false
            } else if scalar.value == 0xFE0F {
                emojiVariation = true
            } else if width == 0 {
                // A cluster that starts with a mark (no base) takes the width of what follows.
                width = of(scalar)
            }
        }
        if emojiVariation && firstIsEmoji { return 2 }
        return min(width, 2)
    }

    /// East Asian Wide (W) and Fullwidth (F) blocks.
    private static func isWide(_ value: UInt32) -> Bool {
        switch value {
        case 0x1100...0x115F, 0x231A...0x231B, 0x2329...0x232A, 0x2E80...0x303E, 0x3041...0x33FF,
            0x3400...0x4DBF, 0x4E00...0x9FFF, 0xA000...0xA4CF, 0xA960...0xA97F, 0xAC00...0xD7A3,
            0xF900...0xFAFF, 0xFE10...0xFE19, 0xFE30...0xFE6F, 0xFF00...0xFF60, 0xFFE0...0xFFE6,
            0x16FE0...0x16FE4, 0x17000...0x18CFF, 0x1B000...0x1B2FF, 0x1F200...0x1F2FF,
            0x20000...0x2FFFD, 0x30000...0x3FFFD:
            return true
        default:
            return false
        }
    }
}
