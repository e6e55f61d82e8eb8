@testable import Console
import Testing

@Suite struct FilterQueryTests {
    @Test func qualifiersAndWordsAllMatch() {
        let query = FilterQuery("dispatcher:celery model:user timed")
        #expect(query.dispatcher == ["celery"])
        #expect(query.model == ["user"])
        #expect(query.words == ["timed"])
        #expect(query.matches(dispatcher: "celery", model: "auth.User", state: "open", fields: ["cache timed out"]))
        #expect(!query.matches(dispatcher: "django_rq", model: "auth.User", state: "open", fields: ["cache timed out"]))
        #expect(!query.matches(dispatcher: "celery", model: "auth.User", state: "open", fields: ["refused"]))
    }

    @Test func stateQualifierNeedsTheField() {
        let query = FilterQuery("state:resolved")
        #expect(query.matches(dispatcher: nil, model: nil, state: "resolved", fields: []))
        #expect(!query.matches(dispatcher: nil, model: nil, state: nil, fields: []))
    }

    @Test func unknownQualifierIsKeptAsAWord() {
        let query = FilterQuery("queue:default")
        #expect(query.unknownQualifiers == ["queue"])
        #expect(query.words == ["queue:default"])
    }
}

@Suite struct KeyMapTests {
    @Test func everyPaneKeyResolvesToItsAction() {
        #expect(KeyMap.action(for: .character("q"), in: .panes) == .quit)
        #expect(KeyMap.action(for: .character("j"), in: .panes) == .moveDown)
        #expect(KeyMap.action(for: .down, in: .panes) == .moveDown)
        #expect(KeyMap.action(for: .escape, in: .detail) == .close)
        #expect(KeyMap.action(for: .character("q"), in: .form) == nil)
    }

    @Test func noKeyHasTwoActionsInOneScope() {
        for scope in KeyScope.allCases {
            var seen: [Key: ConsoleAction] = [:]
            for binding in KeyMap.bindings where binding.scopes.contains(scope) {
                for key in binding.keys {
                    if let earlier = seen[key] {
                        Issue.record("\(key.label) in \(scope.rawValue) is bound to \(earlier) and \(binding.action)")
                    }
                    seen[key] = binding.action
                }
            }
        }
    }

    @Test func helpListsEveryBinding() {
        let help = KeyMap.helpLines(ascii: false)
        for binding in KeyMap.bindings {
            #expect(help.contains { $0.description == binding.description }, "help lacks \(binding.description)")
        }
    }

    @Test func footerComesFromTheTable() {
        let hints = KeyMap.footerHints
        #expect(hints.first?.key == "q")
        #expect(hints.first { $0.key == "tab" }?.hint == "pane")
        let hinted = KeyMap.bindings.filter { $0.hint != nil && $0.scopes.contains(.panes) }
        #expect(hints.count == hinted.count)
    }
}
