import Console
import Foundation
import Testing

/// Golden frames: the text of a grid, then its attribute layer, compared
/// with a file under Tests/ConsoleTests/Golden.
///
/// A missing file is written and the test fails, so a new frame is always
/// looked at once; `UPDATE_GOLDEN=1` rewrites every file (and fails too).
enum Golden {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Golden")

    static func document(_ grid: ScreenGrid) -> String {
        grid.text + "\n--- attributes: . none, else hex of bold 1 + reverse 2 + dim 4 + underline 8\n"
            + ScreenText.attributes(grid) + "\n"
    }

    static func check(_ grid: ScreenGrid, _ name: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let actual = document(grid)
        let url = folder.appendingPathComponent(name + ".txt")
        let update = ProcessInfo.processInfo.environment["UPDATE_GOLDEN"] == "1"
        guard !update, let expected = try? String(contentsOf: url, encoding: .utf8) else {
            try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try? actual.write(to: url, atomically: true, encoding: .utf8)
            Issue.record("Golden frame \(name) was written; check it and run the tests again.", sourceLocation: sourceLocation)
            return
        }
        if actual != expected {
            let actualLines = actual.split(separator: "\n", omittingEmptySubsequences: false)
            let expectedLines = expected.split(separator: "\n", omittingEmptySubsequences: false)
            let firstDifference = zip(actualLines, expectedLines).enumerated().first { $0.element.0 != $0.element.1 }
            let line = firstDifference.map { "line \($0.offset + 1):\n  expected: \($0.element.1)\n  actual:   \($0.element.0)" }
                ?? "line counts differ: expected \(expectedLines.count), actual \(actualLines.count)"
            Issue.record("Golden frame \(name) differs at \(line)\nActual frame:\n\(actual)", sourceLocation: sourceLocation)
        }
    }
}
