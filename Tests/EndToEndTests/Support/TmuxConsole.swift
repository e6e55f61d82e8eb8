import Foundation
import Testing
import TestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// A tmux server on its own socket with one pane running a shell, for
/// driving the real dispatchtop binary as an operator would.
///
/// Every wait polls the screen every 20 ms for a marker. When the marker
/// does not appear in time, the wait dumps the screen. No step sleeps blindly.
final class TmuxConsole {
    let folder: TemporaryDirectory
    let socket: String
    static let prompt = "e2e$ "

    /// Starts a `width` by `height` pane running `sh` with a known prompt.
    init(width: Int = 100, height: Int = 30) throws {
        folder = try TemporaryDirectory(prefix: "console-e2e")
        socket = folder.file("tmux.sock")
        var environment = ProcessInfo.processInfo.environment
        environment["LANG"] = environment["LANG"] ?? "C.UTF-8"
        // Tests that want NO_COLOR set it on the command line; the test
        // runner's own setting must not leak into the pane.
        environment["NO_COLOR"] = nil
        // The shell gets its prompt on its command line: tmux does not hand
        // the client's PS1 to the pane.
        let started = try tmux(
            ["new-session", "-d", "-s", "e2e", "-x", String(width), "-y", String(height), "env PS1='\(Self.prompt)' sh"],
            environment: environment)
        guard started.status == 0 else {
            throw ConsoleTestError( "tmux new-session failed: \(started.stderr)")
        }
        // capture-pane drops trailing spaces, so the marker leaves out the prompt's space.
        try waitFor("e2e$", timeout: 10)
    }

    deinit {
        _ = try? tmux(["kill-server"])
        folder.remove()
    }

    /// The dispatchtop binary built next to the test bundle.
    static var binary: String {
        let folder = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        let candidates = [folder.appendingPathComponent("dispatchtop").path,
                          folder.deletingLastPathComponent().appendingPathComponent("dispatchtop").path]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates[0]
    }

    /// The fixture configuration on the in-process dispatchers.
    static var inProcessConfig: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/in-process-config.json").path
    }

    @discardableResult
    func tmux(_ arguments: [String], environment: [String: String]? = nil) throws -> ProcessRunner.Completed {
        try ProcessRunner.run(["tmux", "-S", socket, "-f", "/dev/null"] + arguments, environment: environment, timeout: 20)
    }

    /// Types a command line into the shell: dispatchtop with `arguments`,
    /// then the exit status printed as `EXIT:n`.
    /// - Parameter environment: assignments put before the command, e.g. `LANG=C`.
    func launch(_ arguments: [String], environment: [String] = []) throws {
        let quoted = ([Self.binary] + arguments).map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }
        let assignments = (["SWIFT_BACKTRACE=interactive=no"] + environment).joined(separator: " ")
        try run(assignments + " " + quoted.joined(separator: " "))
    }

    /// Types `command` into the shell, followed by `; echo EXIT:$?`.
    func run(_ command: String) throws {
        let line = command + "; echo EXIT:$?"
        try tmux(["send-keys", "-t", "e2e", "-l", line])
        try tmux(["send-keys", "-t", "e2e", "Enter"])
    }

    /// Sends tmux key names (`Tab`, `Enter`, `Escape`, `q`).
    func press(_ keys: String...) throws {
        try tmux(["send-keys", "-t", "e2e"] + keys)
    }

    /// Sends text literally.
    func type(_ text: String) throws {
        try tmux(["send-keys", "-t", "e2e", "-l", text])
    }

    /// Returns the visible screen, or with `history` the scrollback too.
    func screen(history: Bool = false) throws -> String {
        try tmux(["capture-pane", "-p", "-t", "e2e"] + (history ? ["-S", "-"] : [])).stdout
    }

    /// Returns the visible screen with its SGR escape sequences (attributes and colours).
    func styledScreen() throws -> String {
        try tmux(["capture-pane", "-p", "-e", "-t", "e2e"]).stdout
    }

    /// Waits until `condition` holds for the screen; returns that screen.
    @discardableResult
    func waitUntil(
        _ description: String, timeout: Double = 20, history: Bool = false, _ condition: (String) -> Bool
    ) throws -> String {
        var last = ""
        let found = TestSupport.waitFor(timeout: timeout) {
            last = (try? screen(history: history)) ?? ""
            return condition(last)
        }
        guard found else {
            Issue.record("Timed out after \(timeout) s waiting for \(description). Screen:\n\(last)")
            throw ConsoleTestError( "timed out waiting for \(description)")
        }
        return last
    }

    /// Waits until `marker` is on the screen; returns the screen.
    @discardableResult
    func waitFor(_ marker: String, timeout: Double = 20, history: Bool = false) throws -> String {
        try waitUntil("'\(marker)'", timeout: timeout, history: history) { $0.contains(marker) }
    }

    /// Waits for a program to run in the pane's shell and returns its pid.
    func applicationPID() throws -> pid_t {
        let shell = try tmux(["display-message", "-p", "-t", "e2e", "#{pane_pid}"]).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
        var child: pid_t = 0
        _ = TestSupport.waitFor(timeout: 5) {
            let path = "/proc/\(shell)/task/\(shell)/children"
            let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
            child = text.split(separator: " ").first.flatMap { pid_t($0) } ?? 0
            return child > 0
        }
        guard child > 0 else { throw ConsoleTestError( "no program is running in the pane") }
        return child
    }

    /// Quits with q and checks the terminal came back: exit status 0, the
    /// prompt, and a command that echoes as typed.
    func quitAndCheckRestored() throws {
        try press("q")
        try waitFor("EXIT:0", history: true)
        try type("echo restored-$((40+2))")
        try press("Enter")
        try waitFor("restored-42", history: true)
    }
}

/// A step of a console test that could not be carried out.
struct ConsoleTestError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// An event file that a console follows (`--events FILE --follow`), which
/// the test appends lines to while the console runs.
struct EventFeed {
    let path: String

    init(_ path: String) {
        self.path = path
    }

    /// Appends price updates of the products with `pks`: on the fixture
    /// configuration each runs product-detail-on-product on inline and
    /// product-list-on-product on threadpool.
    func appendProductSaves(_ pks: ClosedRange<Int>) throws {
        var text = ""
        for pk in pks {
            text += #"{"model": "shop.Product", "pk": \#(pk), "signal": "post_save", "update_fields": ["price"], "#
                + #""fields": {"id": \#(pk), "category": {"id": \#(pk % 3 + 1)}}}"# + "\n"
        }
        try append(text)
    }

    /// Appends creates of the orders with `pks`.
    func appendOrderCreates(_ pks: ClosedRange<Int>) throws {
        var text = ""
        for pk in pks {
            text += #"{"model": "shop.Order", "pk": \#(pk), "signal": "post_save", "created": true, "fields": {"id": \#(pk)}}"# + "\n"
        }
        try append(text)
    }

    private func append(_ text: String) throws {
        guard let handle = FileHandle(forWritingAtPath: path) else { throw ConsoleTestError("cannot open \(path)") }
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(text.utf8))
    }
}
