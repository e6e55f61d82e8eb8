/// The part of the screen a key binding applies to.
public enum KeyScope: String, Sendable, CaseIterable {
    /// The panes, with no dialog open.
    case panes = "Panes"
    /// A detail view.
    case detail = "Detail view"
    /// The trigger and fault-injection forms.
    case form = "Forms (trigger, faults)"
    /// The filter line.
    case filter = "Filter line"
    /// A question, or the progress of a replay or a requeue.
    case prompt = "Questions and progress"
}

/// Everything a key can ask the console to do.
public enum ConsoleAction: Sendable, Equatable {
    case moveUp, moveDown, pageUp, pageDown, top, bottom
    case nextPane, previousPane
    case openDetail, toggleMark, clearMarks
    case trigger, replaySelected, replayAll
    case filter, sortLeft, sortRight, invertSort
    case togglePause, faster, slower, faults
    case help, close, quit, redraw
    case toggleFullValues
    case confirm, nextField, previousField, previousChoice, nextChoice, deleteCharacter, clearField
    case stopReplay
}

/// One row of the key table: the keys, what they do and where.
public struct KeyBinding: Sendable {
    public var keys: [Key]
    public var action: ConsoleAction
    public var scopes: [KeyScope]
    public var description: String
    /// The short hint in the footer; nil keeps it out of the footer.
    public var hint: String?

    public init(_ keys: [Key], _ action: ConsoleAction, _ scopes: [KeyScope], _ description: String, hint: String? = nil) {
        self.keys = keys
        self.action = action
        self.scopes = scopes
        self.description = description
        self.hint = hint
    }
}

/// The console's one key table. The key handler, the footer hints and the
/// help screen all read it, so they cannot disagree.
public enum KeyMap {
    public static let bindings: [KeyBinding] = [
        KeyBinding([.character("q")], .quit, [.panes], "Quit and restore the terminal", hint: "quit"),
        KeyBinding([.tab], .nextPane, [.panes], "Focus the next pane", hint: "pane"),
        KeyBinding([.backTab], .previousPane, [.panes], "Focus the previous pane"),
        KeyBinding([.up, .character("k")], .moveUp, [.panes, .detail], "Move up; in a detail view, scroll or select a failed message"),
        KeyBinding([.down, .character("j")], .moveDown, [.panes, .detail], "Move down; in a detail view, scroll or select a failed message"),
        KeyBinding([.pageUp], .pageUp, [.panes, .detail], "Up one page"),
        KeyBinding([.pageDown], .pageDown, [.panes, .detail], "Down one page"),
        KeyBinding([.home, .character("g")], .top, [.panes, .detail], "Go to the first row"),
        KeyBinding([.end, .character("G")], .bottom, [.panes, .detail], "Go to the last row"),
        KeyBinding([.enter], .openDetail, [.panes], "Open the detail view of the selected row", hint: "detail"),
        KeyBinding([.character("t")], .trigger, [.panes], "Trigger a dispatch: model, pk and signal, with a preview", hint: "trigger"),
        KeyBinding([.character("r")], .replaySelected, [.panes], "Replay the marked failures, or the selected one", hint: "replay"),
        KeyBinding([.character("R")], .replayAll, [.panes], "Replay every open failure, with progress", hint: "replay all"),
        KeyBinding([.character("r")], .replaySelected, [.detail], "Replay the failure shown; in a queue, requeue the selected failed message at the broker"),
        KeyBinding([.character("R")], .replayAll, [.detail], "In a queue, requeue all its failed messages at the broker, after a question"),
        KeyBinding([.character(" ")], .toggleMark, [.panes], "Mark or unmark the selected failure"),
        KeyBinding([.character("u")], .clearMarks, [.panes], "Clear all marks"),
        KeyBinding([.character("/")], .filter, [.panes], "Filter rows: words, dispatcher:, model:, state:", hint: "filter"),
        KeyBinding([.character("<")], .sortLeft, [.panes], "Sort by the column to the left"),
        KeyBinding([.character(">")], .sortRight, [.panes], "Sort by the column to the right", hint: "sort"),
        KeyBinding([.character("i")], .invertSort, [.panes], "Invert the sort order"),
        KeyBinding([.character("p")], .togglePause, [.panes], "Pause or resume the event source", hint: "pause"),
        KeyBinding([.character("+")], .faster, [.panes], "Double the demo event rate"),
        KeyBinding([.character("-")], .slower, [.panes], "Halve the demo event rate"),
        KeyBinding([.character("f")], .faults, [.panes], "Inject faults into a dispatcher: failure % and latency", hint: "faults"),
        KeyBinding([.character("?")], .help, [.panes], "Show this help", hint: "help"),
        KeyBinding([.redraw], .redraw, [.panes], "Draw the whole screen again"),
        KeyBinding([.character("v")], .toggleFullValues, [.detail], "Show full values instead of previews"),
        KeyBinding([.enter], .confirm, [.form, .filter, .prompt], "Apply the form, the filter, or answer yes"),
        KeyBinding([.character("y")], .confirm, [.prompt], "Answer yes"),
        KeyBinding([.tab, .down], .nextField, [.form], "Next field"),
        KeyBinding([.backTab, .up], .previousField, [.form], "Previous field"),
        KeyBinding([.left], .previousChoice, [.form], "Previous choice in a choice field"),
        KeyBinding([.right, .character(" ")], .nextChoice, [.form], "Next choice in a choice field"),
        KeyBinding([.backspace, .delete], .deleteCharacter, [.form, .filter], "Delete the last character"),
        KeyBinding([.clearLine], .clearField, [.form, .filter], "Clear the whole field"),
        KeyBinding([.character("s")], .stopReplay, [.prompt], "Stop a running replay or requeue after the current item"),
        KeyBinding([.escape], .close, [.detail, .form, .filter, .prompt], "Close the dialog, or leave the filter line and restore the previous filter (a running replay or requeue goes on)"),
        KeyBinding([.character("q"), .character("?")], .close, [.detail], "Close the detail view"),
        KeyBinding([.character("n")], .close, [.prompt], "Answer no"),
    ]

    /// Returns the action bound to `key` in `scope`, if any.
    public static func action(for key: Key, in scope: KeyScope) -> ConsoleAction? {
        bindings.first { $0.scopes.contains(scope) && $0.keys.contains(key) }?.action
    }

    /// The footer's hints by importance: when the footer is too narrow for
    /// all of them, the first ones in this list are kept, so quit and help
    /// always show.
    static let footerRanking: [ConsoleAction] = [
        .quit, .help, .nextPane, .openDetail, .filter, .replaySelected, .trigger, .togglePause, .faults, .replayAll,
        .sortRight,
    ]

    /// Footer hints for the panes, in table order: ("q", "quit", 0), ...;
    /// `rank` is the position in ``footerRanking``, lower is kept first.
    public static var footerHints: [(key: String, hint: String, rank: Int)] {
        bindings.compactMap { binding in
            guard let hint = binding.hint, binding.scopes.contains(.panes) else { return nil }
            // The footer writes named keys in lower case, as htop and k9s do.
            let key = binding.keys[0]
            let label = key == .tab || key == .enter ? key.label.lowercased() : key.label
            let rank = footerRanking.firstIndex(of: binding.action) ?? footerRanking.count
            return (label, hint, rank)
        }
    }

    /// Returns the help screen's lines, grouped by scope.
    public static func helpLines(ascii: Bool) -> [(keys: String, description: String, isHeading: Bool)] {
        var lines: [(String, String, Bool)] = []
        for scope in KeyScope.allCases {
            let rows = bindings.filter { $0.scopes.contains(scope) }
            guard !rows.isEmpty else { continue }
            if !lines.isEmpty { lines.append(("", "", false)) }
            lines.append((scope.rawValue, "", true))
            for binding in rows {
                let keys = binding.keys.map { ascii ? $0.asciiLabel : $0.label }.joined(separator: " ")
                lines.append((keys, binding.description, false))
            }
        }
        lines.append(("", "", false))
        lines.append(("Text fields", "", true))
        lines.append(("typing", "Edits the focused field; the first key replaces a highlighted value. Enter applies, Esc cancels", false))
        return lines
    }
}
