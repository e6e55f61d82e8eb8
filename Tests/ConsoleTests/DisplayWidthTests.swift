@testable import Console
import Testing

@Suite struct DisplayWidthTests {
    @Test(arguments: [
        ("a", 1), ("é", 1), ("e\u{301}", 1), ("日", 2), ("한", 2), ("Ａ", 2), ("🚀", 2), ("👩‍👩‍👧", 2),
        ("🇯🇵", 2), ("❤️", 2), ("─", 1), ("\u{200B}", 0), ("\u{301}", 0),
    ])
    func characterWidth(text: String, cells: Int) {
        #expect(DisplayWidth.of(Character(text)) == cells)
    }

    @Test func stringWidthSumsCharacters() {
        #expect(DisplayWidth.of("ab日本🚀") == 8)
        #expect(DisplayWidth.of("") == 0)
    }

    @Test func fitPadsAndCutsByCells() {
        #expect(TextFit.fit("日本語", width: 4) == "日 …")
        #expect(TextFit.fit("日本", width: 6) == "日本  ")
        #expect(TextFit.fit("abc", width: 5, alignment: .right) == "  abc")
        #expect(TextFit.fit("abcdef", width: 4, ascii: true) == "abc~")
        #expect(DisplayWidth.of(TextFit.fit("🚀🚀🚀", width: 5)) == 5)
    }
}

@Suite struct ScreenGridTests {
    @Test func writesAreClippedToTheGrid() {
        var grid = ScreenGrid(width: 10, height: 2)
        let written = grid.write("0123456789ABCDEF", row: 1, column: 4)
        #expect(written == 6)
        #expect(grid.text(row: 1) == "    012345")
        #expect(grid.write("x", row: 2, column: 0) == 0)
        #expect(grid.write("x", row: -1, column: 0) == 0)
        #expect(grid.cells.count == 20)
    }

    @Test func negativeColumnsClipTheLeft() {
        var grid = ScreenGrid(width: 5, height: 1)
        grid.write("abcdefg", row: 0, column: -3)
        #expect(grid.text(row: 0) == "defg ")
    }

    @Test func wideCharacterAtTheEdgeBecomesASpace() {
        var grid = ScreenGrid(width: 5, height: 1)
        grid.write("abcd日", row: 0, column: 0)
        #expect(grid.text(row: 0) == "abcd ")
        grid.write("日本", row: 0, column: 0, limit: 3)
        #expect(grid.text(row: 0) == "日 d ")
        #expect(grid[0, 1].width == 0)
    }

    @Test func controlCharactersNeverReachTheGrid() {
        var grid = ScreenGrid(width: 12, height: 1)
        grid.write("a\u{1B}[31mb\u{7}", row: 0, column: 0)
        #expect(!grid.cells.contains { $0.character == "\u{1B}" || $0.character == "\u{7}" })
        #expect(grid.text(row: 0).hasPrefix("a\u{FFFD}[31mb\u{FFFD}"))
    }

    @Test func asciiModeReplacesEveryNonASCIICharacter() {
        var grid = ScreenGrid(width: 10, height: 1, asciiOnly: true)
        grid.write("─日é…", row: 0, column: 0)
        #expect(grid.text(row: 0) == "-??~      ")
    }

    @Test func restyleChangesOnlyTheRectangle() {
        var grid = ScreenGrid(width: 4, height: 2)
        grid.restyle(Rect(row: 1, column: 1, width: 10, height: 10)) { $0.attributes.insert(.bold) }
        #expect(!grid[0, 1].style.attributes.contains(.bold))
        #expect(grid[1, 3].style.attributes.contains(.bold))
        #expect(!grid[1, 0].style.attributes.contains(.bold))
    }
}

@Suite struct TableLayoutTests {
    let columns = [
        TableColumn("A", minimum: 4),
        TableColumn("B", minimum: 6, growth: 1, dropPriority: 2),
        TableColumn("C", minimum: 6, maximum: 8, growth: 1, dropPriority: 1),
    ]

    @Test func dropsTheHighestPriorityFirst() {
        let placed = TableLayout.fit(columns, width: 12)
        #expect(placed.map(\.index) == [0, 2])
    }

    @Test func sharesSpareWidthWithinMaximums() {
        let placed = TableLayout.fit(columns, width: 40)
        #expect(placed.map(\.width) == [4, 26, 8])
        #expect(placed.last.map { $0.offset + $0.width } == 40)
    }

    @Test func preferredWidthComesBeforeDroppableColumns() {
        let columns = [
            TableColumn("NAME", minimum: 4, preferred: 12),
            TableColumn("EXTRA", minimum: 6, dropPriority: 1),
        ]
        #expect(TableLayout.fit(columns, width: 16).map(\.index) == [0])
        #expect(TableLayout.fit(columns, width: 16).first?.width == 12)
        #expect(TableLayout.fit(columns, width: 19).map(\.width) == [12, 6])
        #expect(TableLayout.fit(columns, width: 8).first?.width == 8)
    }

    @Test func neverExceedsTheWidth() {
        for width in 0...30 {
            let placed = TableLayout.fit(columns, width: width)
            #expect(placed.allSatisfy { $0.offset + $0.width <= max(width, 0) })
        }
    }
}
