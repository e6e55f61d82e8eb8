@testable import Console
import Testing

@Suite struct KeyBurstTests {
    /// Feeds `text` through bursts the way the console's loop does: one
    /// blocking read, then the keys already waiting.
    static func typed(_ text: String, limit: Int) -> String {
        var waiting = text.map { Key.character($0) }[...]
        var received = ""
        while let first = waiting.popFirst() {
            _ = KeyBurst.drain(first: first, limit: limit, readNext: { waiting.popFirst() }) { key in
                if case .character(let character) = key { received.append(character) }
                return false
            }
        }
        return received
    }

    @Test func pasteLongerThanABurstArrivesWhole() {
        let text = String((0..<200).map { Character(String($0 % 10)) })
        #expect(Self.typed(text, limit: KeyBurst.limit) == text)
    }

    @Test func everyBurstLengthKeepsEveryKey() {
        let text = "abcdefghijklmnopqrstuvwxyz0123456789"
        for limit in 1...8 {
            #expect(Self.typed(text, limit: limit) == text, "limit \(limit)")
        }
    }

    @Test func quitStopsTheBurst() {
        var waiting: [Key] = [.character("a"), .character("q"), .character("b")][...].reversed()
        var handled: [Key] = []
        let quit = KeyBurst.drain(first: .character("x"), readNext: { waiting.popLast() }) { key in
            handled.append(key)
            return key == .character("q")
        }
        #expect(quit)
        #expect(handled == [.character("x"), .character("a"), .character("q")])
        #expect(waiting == [.character("b")])
    }
}
