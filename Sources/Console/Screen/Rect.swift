/// A rectangle of cells: the top-left corner and a size, all in cells.
public struct Rect: Sendable, Equatable {
    public var row: Int
    public var column: Int
    public var width: Int
    public var height: Int

    public init(row: Int, column: Int, width: Int, height: Int) {
        self.row = row
        self.column = column
        self.width = max(0, width)
        self.height = max(0, height)
    }

    public var bottom: Int { row + height }
    public var right: Int { column + width }
    public var isEmpty: Bool { width == 0 || height == 0 }

    /// This rectangle shrunk by `amount` cells on every side.
    public func inset(by amount: Int) -> Rect {
        Rect(row: row + amount, column: column + amount, width: width - 2 * amount, height: height - 2 * amount)
    }

    /// Returns a rectangle of `width` by `height` centred in this one (clamped to it).
    public func centred(width: Int, height: Int) -> Rect {
        let fittedWidth = min(width, self.width)
        let fittedHeight = min(height, self.height)
        return Rect(
            row: row + (self.height - fittedHeight) / 2, column: column + (self.width - fittedWidth) / 2,
            width: fittedWidth, height: fittedHeight)
    }
}
