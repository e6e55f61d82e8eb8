import Foundation
import Testing
import TestSupport

/// Long pastes and broker requeues in the real console, driven through tmux.
@Suite(.serialized) struct ConsoleInputEndToEndTests {
    static let config = TmuxConsole.inProcessConfig

    /// 200 characters whose every position shows: a digit run with a letter
    /// every tenth place, so a lost or doubled key changes the text.
    static let pasted: String = {
        let letters = Array("abcdefghijklmnopqrstuvwxyz")
        var text = ""
        for index in 0..<200 {
            if index % 10 == 9 {
                text.append(letters[index / 10 % letters.count])
            } else {
                text += String(index % 10)
            }
        }
        return text
    }()

    @Test func pasteIntoTheFilterArrivesWhole() throws {
        let console = try TmuxConsole(width: 250, height: 30)
        try console.launch(["--config", Self.config, "--journal", console.folder.file("journal.sqlite3")])
        try console.waitFor("no event source")
        try console.press("/")
        try console.waitFor("/ filter:")
        try console.type(Self.pasted)
        try console.waitFor("/ filter: " + Self.pasted + "_")
        // The filter applies on Enter; C-u then empties the reopened line.
        try console.press("Enter")
        try console.waitFor("filter: " + Self.pasted.prefix(40))
        try console.press("/")
        try console.waitFor("/ filter: " + Self.pasted + "_")
        try console.press("C-u")
        try console.waitFor("/ filter: _")
        try console.press("Escape")
        try console.quitAndCheckRestored()
    }

    @Test func pasteIntoTriggerFieldsArrivesWhole() throws {
        let console = try TmuxConsole(width: 120, height: 40)
        try console.launch(["--config", Self.config, "--journal", console.folder.file("journal.sqlite3")])
        try console.waitFor("no event source")
        try console.press("t")
        try console.waitFor("Trigger a dispatch")
        // The first model is shop.Order, whose rule maps order_id from id.
        try console.press("Down", "Down", "Down", "Down")
        try console.waitUntil("the Fields field focused") { $0.contains("empty: {\"id\":1}") && $0.contains("Fields (JSON)") }
        let filler = String(Self.pasted.prefix(200 - 30))
        let fields = "{\"note\": \"\(filler)\", \"id\": 9876543210}"
        #expect(fields.count == 200)
        try console.type(fields)
        let screen = try console.waitFor("\"order_id\":9876543210")
        #expect(screen.contains("\", \"id\": 9876543210}_"), "the field shows its end")
        try console.press("Escape")
        try console.quitAndCheckRestored()
    }

    /// Returns the figures (ready, in flight, delayed, failed) of the queue
    /// row starting with `name` in the Queues pane, if the row is shown.
    static func queueFigures(_ screen: String, name: String) -> [Int?]? {
        // A figure the probe cannot read shows as `?`, which reads as nil.
        // The Dispatchers pane names the same queue in its RUNS ON column,
        // followed by the batching word: that row is not the queue's.
        for line in screen.split(separator: "\n") {
            guard let start = line.range(of: name, options: .backwards) else { continue }
            let tokens = line[start.lowerBound...].split(whereSeparator: { $0 == " " || $0 == "│" })
            guard tokens.count >= 5 else { continue }
            let figures = tokens[1...4]
            guard figures.allSatisfy({ Int($0) != nil || $0 == "?" }) else { continue }
            return figures.map { Int($0) }
        }
        return nil
    }

    /// Returns the words inside the dialog box whose top border starts with
    /// `┌─ title`, joined by single spaces so that a wrapped sentence reads
    /// whole. Returns an empty string when no such box is on `screen`.
    static func dialogText(_ screen: String, title: String) -> String {
        let lines = screen.split(separator: "\n", omittingEmptySubsequences: false).map { Array($0) }
        let border = Array("┌─ " + title)
        for (row, line) in lines.enumerated() {
            guard let left = (0...max(0, line.count - border.count)).first(where: { Array(line[$0..<min(line.count, $0 + border.count)]) == border }),
                let right = line[left...].firstIndex(of: "┐")
            else { continue }
            var words: [Substring] = []
            for inner in lines[(row + 1)...] {
                guard inner.count > right, inner[left] == "│" else { break }
                words += String(inner[(left + 1)..<right]).split(separator: " ")
            }
            return words.joined(separator: " ")
        }
        return ""
    }

    /// The demo's dramatiq consumer fails every message while the fault is
    /// on; the embedded broker retries it 3 times, then dead-letters it.
    /// R in the queue's detail view moves the dead letters back.
    @Test func requeueAllMovesDeadLettersBack() throws {
        let console = try TmuxConsole(width: 200, height: 50)
        try console.launch(["--journal", console.folder.file("journal.sqlite3")])
        try console.waitFor("running")
        try ConsoleEndToEndTests.setFailures(console, dispatcher: "dramatiq", percent: "100")
        try console.waitFor("dramatiq: 100% fail")
        let queue = "dramatiq:cache-invalidation"
        try console.waitUntil("a dead letter in \(queue)", timeout: 60) { screen in
            guard let figures = Self.queueFigures(screen, name: queue), let failed = figures[3] else { return false }
            return failed > 0
        }
        try ConsoleEndToEndTests.setFailures(console, dispatcher: "dramatiq", percent: "0")
        try console.waitFor("dramatiq: fault turned off")
        // Only the dramatiq row is left in the Queues pane, so it is selected.
        try console.press("/")
        try console.type("dramatiq")
        try console.press("Enter")
        try console.press("Tab", "Tab")
        try console.waitFor("[ Queues")
        try console.press("Enter")
        let detail = try console.waitUntil("the broker's failed messages") { $0.contains("Failed messages at the broker (") }
        let heading = try #require(detail.range(of: #"Failed messages at the broker \(\d+\)"#, options: .regularExpression))
        let count = try #require(Int(detail[heading].dropFirst("Failed messages at the broker (".count).dropLast()))
        #expect(count > 0, "\(detail)")
        try console.press("R")
        // The question counts what the broker counts, which is at least the
        // listed messages: dead letters may have arrived since the list was read.
        let question = Self.dialogText(try console.waitFor("at the embedded broker?"), title: "Requeue all")
        let questionParts = try #require(
            question.firstMatch(of: /Requeue all (\d+) failed messages? of (\S+) at the embedded broker\?/), "\(question)")
        #expect(Int(questionParts.1) ?? 0 >= count, "\(question)")
        #expect(questionParts.2 == queue)
        try console.press("y")
        let finished = try console.waitFor("Finished.")
        let window = Self.dialogText(finished, title: "Requeue")
        let closing = try #require(window.firstMatch(of: /Finished\. (\d+) of (\d+) messages?: (\d+) requeued, 0 failed\./), "\(window)")
        let requeued = try #require(Int(closing.3))
        #expect(requeued >= count)
        #expect(closing.1 == closing.2)
        #expect(window.contains("\(requeued)/\(requeued)"), "the progress line: \(window)")
        // Esc goes back to the queue, whose dead letters are read again.
        try console.press("Escape")
        try console.waitFor("Queue \(queue)")
        try console.press("Escape")
        try console.waitUntil("the failed count below \(count)") { screen in
            guard let figures = Self.queueFigures(screen, name: queue), let failed = figures[3] else { return false }
            return failed < count
        }
        try console.quitAndCheckRestored()
    }
}
