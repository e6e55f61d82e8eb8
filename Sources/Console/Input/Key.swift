/// A key press as the console reads it, independent of curses key codes.
public enum Key: Hashable, Sendable {
    case character(Character)
    case up, down, left, right
    case pageUp, pageDown, home, end
    case enter, escape, tab, backTab, backspace, delete
    /// Ctrl-L: draw the whole screen again.
    case redraw
    /// Ctrl-U: clear the text field, as in a shell.
    case clearLine
    /// The terminal changed size.
    case resize

    /// The key's name in the help screen and the footer.
    public var label: String {
        switch self {
        case .character(" "): return "Space"
        case .character(let character): return String(character)
        case .up: return "↑"
        case .down: return "↓"
        case .left: return "←"
        case .right: return "→"
        case .pageUp: return "PgUp"
        case .pageDown: return "PgDn"
        case .home: return "Home"
        case .end: return "End"
        case .enter: return "Enter"
        case .escape: return "Esc"
        case .tab: return "Tab"
        case .backTab: return "S-Tab"
        case .backspace: return "Bksp"
        case .delete: return "Del"
        case .redraw: return "C-l"
        case .clearLine: return "C-u"
        case .resize: return "resize"
        }
    }

    /// The label in ASCII, for locales that cannot show arrows.
    public var asciiLabel: String {
        switch self {
        case .up: return "Up"
        case .down: return "Down"
        case .left: return "Left"
        case .right: return "Right"
        default: return label
        }
    }
}
