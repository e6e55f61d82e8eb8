import Engine
import Foundation
import Testing
import TestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// The real dispatchtop binary in tmux, driven by keys, read from the screen.
@Suite(.serialized) struct ConsoleEndToEndTests {
    static let config = TmuxConsole.inProcessConfig

    /// Reads the batch id from a status line such as "Triggered ...: 1 batches #123."
    static func batchID(inStatus screen: String) -> String? {
        guard let line = screen.split(separator: "\n").first(where: { $0.contains("Triggered") }),
            let hash = line.lastIndex(of: "#")
        else { return nil }
        return "#" + line[line.index(after: hash)...].prefix { $0.isNumber }
    }

    @Test func showsRowsInEveryPane() throws {
        let console = try TmuxConsole()
        let journal = try FailureJournal(path: console.folder.file("journal.sqlite3"))
        let batch = Batch(
            id: 900, dispatcher: "inline", batchKey: "inline", model: "shop.Product", pk: .int(5), signal: .postSave,
            ruleIDs: ["product-detail-on-product"], restflowRuleIDs: [1],
            ruleKwargs: JSONObject([("product-detail-on-product", ["product_id": .int(5)])]), createdAt: Date().timeIntervalSince1970)
        try journal.record(
            batch, error: BatchError(kind: .cache, message: "seeded cache outage"), attempts: 1, ruleFingerprints: [:],
            at: Date().timeIntervalSince1970)
        // The bundled demo: its configuration, demo events and the embedded broker.
        try console.launch(["--journal", console.folder.file("journal.sqlite3"), "-d", "2"])
        // A Queues row is a queue name followed by its ready and failed counts.
        // Which queues are in view depends on the pane's height, since seven
        // queues share five rows at this size.
        let queueRow = #"(celery|django_q|django_rq|dramatiq|threadpool):[a-z-]+ +\d+ +\d+ "#
        let screen = try console.waitUntil("a row in every pane") { screen in
            screen.range(of: queueRow, options: .regularExpression) != nil && screen.contains("seeded cache outage")
                && screen.range(of: #"#\d+ +(inline|threadpool|asyncio|celery|django_q|django_rq|dramatiq) "#, options: .regularExpression) != nil
        }
        for dispatcher in ["asyncio", "celery", "django_q", "django_rq", "dramatiq", "inline", "threadpool"] {
            #expect(screen.contains("│ \(dispatcher) "), "Dispatchers lacks \(dispatcher)")
        }
        #expect(screen.contains("broker: embedded"))
        #expect(screen.contains("1 open of 1"))
        try console.quitAndCheckRestored()
    }

    @Test func triggerShowsTheBatchInLiveBatches() throws {
        let console = try TmuxConsole()
        try console.launch(["--config", Self.config, "--journal", console.folder.file("journal.sqlite3")])
        try console.waitFor("no event source")
        try console.press("t")
        try console.waitFor("Trigger a dispatch")
        // The first model is shop.Order; a full save of pk 1 runs order-status-on-order on asyncio.
        try console.waitFor("runs  order-status-on-order")
        try console.press("Enter")
        let status = try console.waitFor("Triggered shop.Order pk 1")
        let id = try #require(Self.batchID(inStatus: status))
        try console.waitUntil("\(id) in Live batches") { screen in
            screen.split(separator: "\n").contains { $0.contains(id) && $0.contains("asyncio") && $0.contains("shop.Order") }
        }
        try console.quitAndCheckRestored()
    }

    /// Sets the inline dispatcher's injected failure share with the `f` form.
    static func setInlineFailures(_ console: TmuxConsole, percent: String) throws {
        try setFailures(console, dispatcher: "inline", percent: percent)
    }

    /// Sets a dispatcher's injected failure share with the `f` form.
    static func setFailures(_ console: TmuxConsole, dispatcher: String, percent: String) throws {
        try console.press("f")
        try console.waitFor("Inject faults")
        // The form opens on the selected dispatcher; Right steps through the
        // registered names in order until the wanted one is chosen.
        for _ in 0..<12 {
            let current = try Self.chosenDispatcher(console.screen())
            if current == dispatcher { break }
            try console.press("Right")
            try console.waitUntil("the next dispatcher after \(current ?? "none")") { Self.chosenDispatcher($0) != current }
        }
        try console.waitFor("◀ \(dispatcher) ▶")
        try console.press("Tab")
        try console.press("BSpace", "BSpace", "BSpace")
        try console.type(percent)
        try console.press("Enter")
    }

    /// Reads the dispatcher a form's choice field shows, as in "◀ inline ▶".
    static func chosenDispatcher(_ screen: String) -> String? {
        guard let range = screen.range(of: #"◀ \S+ ▶"#, options: .regularExpression) else { return nil }
        return String(screen[range].dropFirst(2).dropLast(2))
    }

    /// Starts the console on the fixture configuration, following an event
    /// file that the test appends to; returns the file.
    static func launchFollowing(_ console: TmuxConsole, arguments: [String] = []) throws -> EventFeed {
        let feed = try EventFeed(console.folder.write("events.jsonl", ""))
        try console.launch(
            ["--config", config, "--journal", console.folder.file("journal.sqlite3"), "--events", feed.path, "--follow"]
                + arguments)
        try console.waitFor("running")
        return feed
    }

    @Test func injectedFaultProducesFailures() throws {
        let console = try TmuxConsole()
        let feed = try Self.launchFollowing(console)
        try Self.setInlineFailures(console, percent: "100")
        try console.waitFor("inline: 100% fail")
        try feed.appendProductSaves(1...3)
        let screen = try console.waitUntil("an injected failure listed") { screen in
            screen.split(separator: "\n").contains { $0.contains("inline") && $0.contains("open") && $0.contains("injected") }
        }
        #expect(screen.contains("FAULT"))
        try console.quitAndCheckRestored()
    }

    @Test func replayMarksTheFailureResolved() throws {
        let console = try TmuxConsole()
        let feed = try Self.launchFollowing(console)
        try Self.setInlineFailures(console, percent: "100")
        try console.waitFor("inline: 100% fail")
        try feed.appendProductSaves(1...1)
        try console.waitUntil("a failure") { $0.contains("injected fault") }
        try Self.setInlineFailures(console, percent: "0")
        try console.waitFor("inline: fault turned off")
        try console.press("Tab", "Tab", "Tab")
        try console.waitFor("[ Failures ]")
        try console.press("r")
        try console.waitFor("1 entry: 1 done")
        try console.press("Escape")
        try console.waitUntil("the replayed row marked resolved") { screen in
            screen.split(separator: "\n").contains { $0.contains("✓ resolved") && $0.contains("injected fault") }
        }
        try console.quitAndCheckRestored()
    }

    @Test func replayAllShowsProgressAndACount() throws {
        let console = try TmuxConsole()
        let feed = try Self.launchFollowing(console)
        try Self.setInlineFailures(console, percent: "100")
        try console.waitFor("inline: 100% fail")
        try feed.appendProductSaves(1...3)
        try console.waitFor("3 open of 3")
        try Self.setInlineFailures(console, percent: "0")
        try console.waitFor("inline: fault turned off")
        try console.press("R")
        try console.waitFor("Replay all")
        try console.press("y")
        let screen = try console.waitUntil("the closing count") { $0.contains("Finished.") && $0.contains("3 entries:") }
        #expect(screen.contains("0 failed"))
        try console.press("Escape")
        try console.waitFor("0 open of")
        try console.quitAndCheckRestored()
    }

    @Test func noColorDrawsWithAttributesOnly() throws {
        let console = try TmuxConsole()
        try console.launch(["--config", Self.config, "--journal", console.folder.file("journal.sqlite3")])
        try console.waitFor("no event source")
        let colored = try console.styledScreen()
        #expect(colored.range(of: "\u{1B}\\[[0-9;]*3[0-7]m", options: .regularExpression) != nil)
        try console.quitAndCheckRestored()

        try console.launch(["--config", Self.config, "--journal", console.folder.file("journal2.sqlite3")], environment: ["NO_COLOR=1"])
        try console.waitFor("no event source")
        let plain = try console.styledScreen()
        #expect(plain.range(of: "\u{1B}\\[[0-9;]*3[0-7]m", options: .regularExpression) == nil)
        #expect(plain.range(of: "\u{1B}\\[[0-9;]*7m", options: .regularExpression) != nil, "reverse video marks the header and focus")
        try console.quitAndCheckRestored()
    }

    @Test func fallsBackToASCIIWithoutAUTF8Locale() throws {
        let console = try TmuxConsole()
        try console.launch(
            ["--config", Self.config, "--journal", console.folder.file("journal.sqlite3")], environment: ["LC_ALL=C", "LANG=C"])
        let screen = try console.waitFor("no event source")
        #expect(screen.contains("+-[ Dispatchers ]"))
        #expect(!screen.contains("│"))
        try console.quitAndCheckRestored()
    }

    @Test func survivesResize() throws {
        let console = try TmuxConsole()
        try console.launch(["--config", Self.config, "--journal", console.folder.file("journal.sqlite3")])
        try console.waitFor("Queues (last 60 s)")
        try console.tmux(["resize-window", "-t", "e2e", "-x", "60", "-y", "15"])
        try console.waitUntil("the 60x15 layout") { screen in
            let lines = screen.split(separator: "\n", omittingEmptySubsequences: false)
            return lines.contains { $0.hasPrefix("└") && $0.count == 60 }
        }
        try console.tmux(["resize-window", "-t", "e2e", "-x", "40", "-y", "10"])
        try console.waitFor("Terminal too small")
        try console.tmux(["resize-window", "-t", "e2e", "-x", "100", "-y", "30"])
        try console.waitUntil("the 100x30 layout") { screen in
            screen.split(separator: "\n").contains { $0.hasPrefix("└") && $0.count == 100 }
        }
        try console.quitAndCheckRestored()
    }

    @Test func sigtermRestoresTheTerminal() throws {
        let console = try TmuxConsole()
        try console.launch(["--config", Self.config, "--journal", console.folder.file("journal.sqlite3")])
        try console.waitFor("no event source")
        let pid = try console.applicationPID()
        #expect(kill(pid, SIGTERM) == 0)
        try console.waitFor("EXIT:143", history: true)
        try console.type("echo restored-$((40+2))")
        try console.press("Enter")
        try console.waitFor("restored-42", history: true)
    }

    /// Reads whether the pane shows the alternate screen, as tmux tracks it.
    static func alternateScreenIsOn(_ console: TmuxConsole) throws -> Bool {
        try console.tmux(["display-message", "-p", "-t", "e2e", "#{alternate_on}"]).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines) == "1"
    }

    @Test func sighupLeavesTheAlternateScreen() throws {
        let console = try TmuxConsole()
        try console.launch(["--config", Self.config, "--journal", console.folder.file("journal.sqlite3")])
        try console.waitFor("no event source")
        #expect(try Self.alternateScreenIsOn(console))
        let pid = try console.applicationPID()
        #expect(kill(pid, SIGHUP) == 0)
        try console.waitFor("EXIT:129", history: true)
        #expect(try !Self.alternateScreenIsOn(console))
        try console.type("echo restored-$((40+2))")
        try console.press("Enter")
        try console.waitFor("restored-42", history: true)
    }

    /// Ctrl-\ sends SIGQUIT, which the Swift runtime's backtracer would
    /// take as a crash and draw its report over the screen.
    @Test func sigquitEndsLikeSigterm() throws {
        let console = try TmuxConsole()
        try console.launch(["--config", Self.config, "--journal", console.folder.file("journal.sqlite3")])
        try console.waitFor("no event source")
        try console.press("C-\\")
        let screen = try console.waitFor("EXIT:131", history: true)
        #expect(!screen.contains("crashed"), "\(screen)")
        #expect(!screen.contains("Press space to interact"), "\(screen)")
        #expect(try !Self.alternateScreenIsOn(console))
        try console.type("echo restored-$((40+2))")
        try console.press("Enter")
        try console.waitFor("restored-42", history: true)
    }

    /// Without --journal, the journal and log go to a new folder under the
    /// temporary folder, which the console names once the terminal is back.
    @Test func quitNamesTheKeptJournalAndLog() throws {
        let console = try TmuxConsole()
        let temporary = console.folder.file("tmp")
        try FileManager.default.createDirectory(atPath: temporary, withIntermediateDirectories: true)
        try console.launch(["--config", Self.config], environment: ["TMPDIR=\(temporary)/"])
        try console.waitFor("no event source")
        try console.press("q")
        let screen = try console.waitFor("EXIT:0", history: true).replacingOccurrences(of: "\n", with: "")
        let folders = try FileManager.default.contentsOfDirectory(atPath: temporary).filter { $0.hasPrefix("dispatchtop-") }
        let folder = try #require(folders.first.map { "\(temporary)/\($0)" })
        #expect(screen.contains("this run kept the failure journal in \(folder)/journal.sqlite3 and the log in \(folder)/dispatchtop.log."))
        #expect(screen.contains("remove \(folder) when you no longer need the failure journal and the log"))
        #expect(FileManager.default.fileExists(atPath: folder + "/journal.sqlite3"))
        // The note comes after the terminal is restored, so the alternate screen never hid it.
        #expect(try !Self.alternateScreenIsOn(console))
    }

    @Test func journalGivenPrintsNoNote() throws {
        let console = try TmuxConsole()
        try console.launch(["--config", Self.config, "--journal", console.folder.file("journal.sqlite3")])
        try console.waitFor("no event source")
        try console.press("q")
        let screen = try console.waitFor("EXIT:0", history: true)
        #expect(!screen.contains("this run kept"))
    }

    /// A crash signal goes through the C handler, which restores the
    /// terminal before the runtime's own crash report and the default action.
    @Test func crashSignalRestoresTheTerminal() throws {
        let console = try TmuxConsole()
        try console.launch(["--config", Self.config, "--journal", console.folder.file("journal.sqlite3")])
        try console.waitFor("no event source")
        let pid = try console.applicationPID()
        #expect(kill(pid, SIGSEGV) == 0)
        try console.waitFor("EXIT:139", timeout: 30, history: true)
        try console.type("echo restored-$((40+2))")
        try console.press("Enter")
        try console.waitFor("restored-42", history: true)
    }

    @Test func unknownTerminalTypeFailsCleanly() throws {
        let console = try TmuxConsole()
        try console.launch(
            ["--config", Self.config, "--journal", console.folder.file("journal.sqlite3")], environment: ["TERM=no-such-terminal"])
        let screen = try console.waitFor("EXIT:1")
        #expect(screen.replacingOccurrences(of: "\n", with: "").contains("terminal type 'no-such-terminal'"))
        try console.type("echo restored-$((40+2))")
        try console.press("Enter")
        try console.waitFor("restored-42")
    }

    /// A terminal without cursor addressing gets the unknown-type error and
    /// status before any key is read: the keys typed next reach the shell.
    @Test func dumbTerminalFailsCleanly() throws {
        let console = try TmuxConsole()
        try console.launch(
            ["--config", Self.config, "--journal", console.folder.file("journal.sqlite3")], environment: ["TERM=dumb"])
        let screen = try console.waitFor("EXIT:1")
        let text = screen.replacingOccurrences(of: "\n", with: "")
        #expect(text.contains("Cannot start the console on the terminal type 'dumb', which cannot move the cursor"))
        #expect(!screen.contains("Dispatchers"))
        try console.type("echo restored-$((40+2))")
        try console.press("Enter")
        try console.waitFor("restored-42")
    }

    @Test func missingConfigFailsBeforeCurses() throws {
        let console = try TmuxConsole()
        try console.launch(["--config", console.folder.file("no-such-config.json")])
        let screen = try console.waitFor("EXIT:2")
        // The message wraps at the pane's width, so it is read with the line breaks taken out.
        #expect(screen.replacingOccurrences(of: "\n", with: "").contains("the configuration file does not exist"))
        #expect(!screen.contains("Dispatchers"))
    }

    @Test func unknownDispatcherFailsBeforeCurses() throws {
        let console = try TmuxConsole()
        let text = try String(contentsOfFile: Self.config, encoding: .utf8)
            .replacingOccurrences(of: "\"dispatcher\": \"asyncio\"", with: "\"dispatcher\": \"asyncioo\"")
        let path = try console.folder.write("bad-config.json", text)
        try console.launch(["--config", path])
        let screen = try console.waitFor("EXIT:2")
        #expect(screen.replacingOccurrences(of: "\n", with: "").contains("unknown dispatcher 'asyncioo'"))
        #expect(!screen.contains("Dispatchers"))
    }

    /// Events piped into standard input leave the keys to the terminal (/dev/tty).
    @Test func eventsFromStandardInputKeepTheKeyboard() throws {
        let console = try TmuxConsole()
        let good = #"{"model": "shop.Order", "pk": 1, "signal": "post_save", "created": true, "fields": {"id": 1}}"#
        let events = try console.folder.write("events.jsonl", good + "\n" + good + "\n")
        let arguments = ["--config", Self.config, "--journal", console.folder.file("journal.sqlite3"), "--events", "-"]
        let command = ([TmuxConsole.binary] + arguments).map { "'\($0)'" }.joined(separator: " ")
        try console.run("cat '\(events)' | SWIFT_BACKTRACE=interactive=no \(command)")
        try console.waitFor("events 2 read")
        try console.waitFor("source ended")
        try console.quitAndCheckRestored()
    }

    @Test func brokenEventLineIsCountedWhileRunning() throws {
        let console = try TmuxConsole()
        let good = #"{"model": "shop.Order", "pk": 1, "signal": "post_save", "created": true, "fields": {"id": 1}}"#
        let events = try console.folder.write("events.jsonl", good + "\n" + good + "\n")
        try console.launch([
            "--config", Self.config, "--journal", console.folder.file("journal.sqlite3"), "--events", events, "--follow",
        ])
        try console.waitFor("events 2 read")
        let handle = try #require(FileHandle(forWritingAtPath: events))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data("{\"model\": \"shop.Order\", broken\n".utf8))
        try handle.write(contentsOf: Data((good + "\n").utf8))
        try handle.close()
        let screen = try console.waitFor("rejected 1")
        #expect(screen.contains("line 3"))
        try console.waitFor("events 3 read")
        try console.quitAndCheckRestored()
    }
}
