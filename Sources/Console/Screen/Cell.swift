/// Text attributes of a cell, independent of colour.
public struct CellAttributes: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let bold = CellAttributes(rawValue: 1)
    public static let reverse = CellAttributes(rawValue: 2)
    public static let dim = CellAttributes(rawValue: 4)
    public static let underline = CellAttributes(rawValue: 8)
}

/// What a cell's colour means; the terminal maps each role to a colour
/// pair, or to nothing when colours are off. A role only repeats what the
/// text and attributes already show, so no state depends on colour alone.
public enum ColorRole: UInt8, Sendable, CaseIterable {
    case normal
    case title
    case good
    case warning
    case bad
    case muted
    case accent
}

/// The look of a cell: attributes plus a colour role.
public struct CellStyle: Sendable, Hashable {
    public var attributes: CellAttributes
    public var role: ColorRole

    public init(_ attributes: CellAttributes = [], role: ColorRole = .normal) {
        self.attributes = attributes
        self.role = role
    }

    public static let plain = CellStyle()
    public static let bold = CellStyle(.bold)
    public static let reverse = CellStyle(.reverse)
    public static let dim = CellStyle(.dim, role: .muted)
    public static let title = CellStyle(.bold, role: .title)

    /// This style with `extra` attributes added.
    public func adding(_ extra: CellAttributes) -> CellStyle {
        CellStyle(attributes.union(extra), role: role)
    }
}

/// One terminal cell.
///
/// A wide character occupies its own cell (width 2) and the cell to its
/// right, which contains a continuation (width 0) so columns stay aligned.
public struct Cell: Sendable, Hashable {
    public var character: Character
    /// 1 for a normal cell, 2 for the left half of a wide character, 0 for its right half.
    public var width: UInt8
    public var style: CellStyle

    public init(_ character: Character, width: UInt8 = 1, style: CellStyle = .plain) {
        self.character = character
        self.width = width
        self.style = style
    }

    public static let blank = Cell(" ")

    /// Makes the right half of a wide character.
    public static func continuation(_ style: CellStyle) -> Cell {
        Cell(" ", width: 0, style: style)
    }
}
