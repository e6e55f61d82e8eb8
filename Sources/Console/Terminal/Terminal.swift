@preconcurrency import CNcursesw
import CTermShim
import Foundation

#if canImport(Glibc)
    @preconcurrency import Glibc
#endif

/// The only type that calls curses: it starts and restores the terminal,
/// reads keys, and draws a ``ScreenGrid`` by writing only the cells that
/// differ from the frame drawn before.
///
/// Used from one thread, the console's loop.
final class Terminal {
    private var lastFrame: ScreenGrid?
    private var attributeBits: [Int32] = []
    private let colors: Bool
    private var active = false

    private var screen: OpaquePointer?

    /// Starts curses: no echo, cbreak (Ctrl-C still raises SIGINT), keypad
    /// keys, a hidden cursor and a 25 ms Esc delay.
    ///
    /// - Parameter keyboard: where keys come from when standard input is
    ///   not the terminal (events piped in): the opened `/dev/tty`.
    /// - Throws: ``TerminalError`` when curses cannot drive the terminal
    ///   named by `TERM`; nothing has been drawn then.
    init(useColor: Bool, keyboard: UnsafeMutablePointer<FILE>? = nil) throws(TerminalError) {
        try Self.checkType()
        // newterm, unlike initscr, returns an error instead of exiting the process.
        guard let created = newterm(nil, stdout, keyboard ?? stdin) else {
            throw TerminalError(terminalType: ProcessInfo.processInfo.environment["TERM"])
        }
        screen = created
        set_term(created)
        active = true
        cbreak()
        noecho()
        nonl()
        keypad(stdscr, true)
        curs_set(0)
        set_escdelay(25)
        colors = useColor && has_colors()
        if colors {
            start_color()
            use_default_colors()
            for role in ColorRole.allCases where role != .normal {
                init_pair(Int16(role.rawValue), Self.foreground(role), -1)
            }
        }
        attributeBits = [ts_attribute_bold(), ts_attribute_reverse(), ts_attribute_dim(), ts_attribute_underline()]
    }

    deinit {
        restore()
    }

    /// Checks that terminfo knows the terminal named by `TERM` and that it
    /// can move the cursor and clear the screen, which drawing needs:
    /// `TERM=dumb` or a printing terminal would show a blank screen that
    /// still takes keys. Nothing is written to the terminal.
    static func checkType() throws(TerminalError) {
        let type = ProcessInfo.processInfo.environment["TERM"]
        switch ts_terminal_can_address_cursor(nil) {
        case 1: return
        case 0: throw TerminalError(terminalType: type, reason: .cannotAddressCursor)
        default: throw TerminalError(terminalType: type)
        }
    }

    /// Puts the terminal back as it was; safe to call more than once.
    func restore() {
        guard active else { return }
        active = false
        endwin()
        if let screen { delscreen(screen) }
        screen = nil
    }

    /// The terminal's size in cells.
    var size: (width: Int, height: Int) {
        (Int(ts_columns()), Int(ts_rows()))
    }

    // MARK: - Drawing

    /// Draws `frame`, writing only cells that changed since the last frame;
    /// a changed size or `force` redraws everything.
    func draw(_ frame: ScreenGrid, force: Bool = false) {
        guard active else { return }
        if force { lastFrame = nil }
        let spans = FrameDiff.changedSpans(from: lastFrame, to: frame)
        // An identical frame costs one comparison and no terminal output.
        if spans.isEmpty { return }
        if lastFrame == nil || lastFrame?.width != frame.width || lastFrame?.height != frame.height {
            clearok(stdscr, true)
            erase()
        }
        for span in spans {
            drawSpan(row: span.row, columns: span.columns, frame: frame)
        }
        refresh()
        lastFrame = frame
    }

    /// Writes a run of cells, one curses call per stretch of equal style.
    private func drawSpan(row: Int, columns: ClosedRange<Int>, frame: ScreenGrid) {
        var column = columns.lowerBound
        while column <= columns.upperBound {
            let style = frame[row, column].style
            var text = ""
            let start = column
            while column <= columns.upperBound, frame[row, column].style == style {
                let cell = frame[row, column]
                if cell.width != 0 { text.append(cell.character) }
                column += 1
            }
            apply(style)
            _ = mvaddstr(Int32(row), Int32(start), text)
        }
        apply(.plain)
    }

    private func apply(_ style: CellStyle) {
        var bits: Int32 = 0
        for (index, flag) in [CellAttributes.bold, .reverse, .dim, .underline].enumerated() where style.attributes.contains(flag) {
            bits |= attributeBits[index]
        }
        let pair = colors ? Int16(style.role.rawValue) : 0
        _ = ts_set_attributes(bits, pair)
    }

    private static func foreground(_ role: ColorRole) -> Int16 {
        switch role {
        case .normal: return -1
        case .title: return Int16(COLOR_CYAN)
        case .good: return Int16(COLOR_GREEN)
        case .warning: return Int16(COLOR_YELLOW)
        case .bad: return Int16(COLOR_RED)
        case .muted: return COLORS >= 16 ? 8 : -1
        case .accent: return Int16(COLOR_BLUE)
        }
    }

    // MARK: - Input

    /// Waits up to `milliseconds` for a key; nil on timeout or an
    /// interrupted wait (a signal arrived).
    func readKey(milliseconds: Int) -> Key? {
        timeout(Int32(milliseconds))
        var code: UInt32 = 0
        let result = ts_read_key(&code)
        if result == KEY_CODE_YES { return Self.functionKey(Int32(code)) }
        guard result == OK else { return nil }
        return Self.characterKey(code)
    }

    private static func characterKey(_ code: UInt32) -> Key? {
        switch code {
        case 9: return .tab
        case 10, 13: return .enter
        case 27: return .escape
        case 8, 127: return .backspace
        case 12: return .redraw
        case 21: return .clearLine
        case 0..<32: return nil
        default: return Unicode.Scalar(code).map { .character(Character($0)) }
        }
    }

    private static func functionKey(_ code: Int32) -> Key? {
        switch code {
        case KEY_UP: return .up
        case KEY_DOWN: return .down
        case KEY_LEFT: return .left
        case KEY_RIGHT: return .right
        case KEY_PPAGE: return .pageUp
        case KEY_NPAGE: return .pageDown
        case KEY_HOME: return .home
        case KEY_END: return .end
        case KEY_BTAB: return .backTab
        case KEY_BACKSPACE: return .backspace
        case KEY_DC: return .delete
        case KEY_ENTER: return .enter
        case KEY_RESIZE: return .resize
        default: return nil
        }
    }
}

/// A terminal that curses cannot drive.
struct TerminalError: Error, CustomStringConvertible {
    enum Reason {
        /// terminfo has no entry for the type, or curses failed to start on it.
        case unknown
        /// The entry has no cursor addressing (`cup`) or no screen clearing (`clear`).
        case cannotAddressCursor
    }

    var terminalType: String?
    var reason = Reason.unknown

    var description: String {
        let name = terminalType.map { "'\($0)'" } ?? "(TERM is not set)"
        let why = reason == .cannotAddressCursor ? ", which cannot move the cursor or clear the screen" : ""
        return "Cannot start the console on the terminal type \(name)\(why). Set TERM to a type terminfo knows, such as xterm-256color."
    }
}
