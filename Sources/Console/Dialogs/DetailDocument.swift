import Engine

/// The text of a detail view: labelled values and headings, wrapped to the
/// dialog's width when drawn.
struct DetailDocument {
    enum Line {
        case heading(String)
        case field(label: String, value: String)
        case text(String, CellStyle)
        case blank
    }

    var title: String
    var lines: [Line] = []
    /// The index in ``lines`` of the selected item, which the view keeps on screen.
    var anchor: Int?

    init(title: String) {
        self.title = title
    }

    mutating func heading(_ text: String) {
        if !lines.isEmpty { lines.append(.blank) }
        lines.append(.heading(text))
    }

    mutating func field(_ label: String, _ value: String) {
        lines.append(.field(label: label, value: value))
    }

    mutating func text(_ value: String, style: CellStyle = .plain) {
        lines.append(.text(value, style))
    }

    /// Lays the lines out as styled rows of at most `width` cells.
    func rows(width: Int, ascii: Bool) -> [(String, CellStyle)] {
        layout(width: width, ascii: ascii).rows
    }

    /// Lays the lines out as styled rows of at most `width` cells; returns
    /// them with the row where the ``anchor`` line starts.
    func layout(width: Int, ascii: Bool) -> (rows: [(String, CellStyle)], anchor: Int?) {
        let labelWidth = 14
        var rows: [(String, CellStyle)] = []
        var anchorRow: Int?
        for (index, line) in lines.enumerated() {
            if index == anchor { anchorRow = rows.count }
            switch line {
            case .heading(let text):
                rows.append((text, CellStyle([.bold, .underline], role: .title)))
            case .blank:
                rows.append(("", .plain))
            case .text(let text, let style):
                for piece in TextWrap.wrap(text, width: width, ascii: ascii) {
                    rows.append((piece, style))
                }
            case .field(let label, let value):
                let pieces = TextWrap.wrap(value, width: max(8, width - labelWidth), ascii: ascii)
                for (index, piece) in pieces.enumerated() {
                    let prefix = index == 0 ? TextFit.fit(label, width: labelWidth, ascii: ascii) : String(repeating: " ", count: labelWidth)
                    rows.append((prefix + piece, .plain))
                }
            }
        }
        return (rows, anchorRow)
    }
}

/// Breaks text into rows of at most a given number of cells, at spaces
/// where it can and inside a word where a word is longer than a row.
enum TextWrap {
    static func wrap(_ text: String, width: Int, ascii: Bool) -> [String] {
        guard width > 0 else { return [] }
        var rows: [String] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            // Leading spaces indent every row of the paragraph.
            let indent = String(line.prefix { $0 == " " }.prefix(max(0, width / 2)))
            let paragraph = line.dropFirst(indent.count)
            let rowWidth = width - indent.count
            var current = ""
            var currentWidth = 0
            var paragraphRows: [String] = []
            for word in paragraph.split(separator: " ", omittingEmptySubsequences: false) {
                var piece = String(word)
                var pieceWidth = TextFit.cellWidth(piece, ascii: ascii)
                let space = current.isEmpty ? 0 : 1
                if currentWidth + space + pieceWidth <= rowWidth {
                    current += (space == 1 ? " " : "") + piece
                    currentWidth += space + pieceWidth
                    continue
                }
                if !current.isEmpty {
                    paragraphRows.append(current)
                    current = ""
                    currentWidth = 0
                }
                while pieceWidth > rowWidth {
                    let (head, tail) = split(piece, at: rowWidth, ascii: ascii)
                    paragraphRows.append(head)
                    piece = tail
                    pieceWidth = TextFit.cellWidth(piece, ascii: ascii)
                }
                current = piece
                currentWidth = pieceWidth
            }
            paragraphRows.append(current)
            rows += paragraphRows.map { indent + $0 }
        }
        return rows
    }

    private static func split(_ text: String, at width: Int, ascii: Bool) -> (String, String) {
        var used = 0
        var index = text.startIndex
        while index < text.endIndex {
            let characterWidth = TextFit.cellWidth(text[index], ascii: ascii)
            if used + characterWidth > width { break }
            used += characterWidth
            index = text.index(after: index)
        }
        if index == text.startIndex { index = text.index(after: index) }
        return (String(text[..<index]), String(text[index...]))
    }
}
