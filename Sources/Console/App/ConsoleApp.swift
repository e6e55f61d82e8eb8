import CTermShim
import Engine
import Foundation
import Synchronization

#if canImport(Glibc)
    @preconcurrency import Glibc
#endif

/// The interactive console: takes over the terminal, draws the panes from
/// engine snapshots and carries out the effects the keys request.
///
/// The terminal is restored on every way out: `q` and any other return
/// from the loop, and SIGINT, SIGTERM, SIGHUP and SIGQUIT, whose C handler
/// sets a flag that the loop checks. On a crash, a C handler restores it
/// before the runtime's crash report.
public final class ConsoleApp {
    let session: ConsoleSession
    let options: ConsoleOptions
    let logger: Logger
    var state = ConsoleState()
    let cache = PaneOrderCache()
    var replayJob: BackgroundJob<ReplayJobStatus>?
    var replayAnnounced = false
    var requeueJob: BackgroundJob<RequeueJobStatus>?
    var queueReadings = QueueReadingTimes()
    var requeueAnnounced = false
    /// When the last key arrived, in seconds since the Unix epoch.
    var lastKeyTime = 0.0
    let messages = StatusMailbox()
    let failureRefresh = QueueFailureRefresh()
    var forceRedraw = false
    /// Set once curses has the terminal; false when the console failed to start.
    public private(set) var didTakeOverTerminal = false

    public init(session: ConsoleSession, options: ConsoleOptions) {
        self.session = session
        self.options = options
        logger = session.engine.logger.child("console")
    }

    /// Runs until the operator quits or a signal arrives; returns the exit
    /// status: 0 after `q`, 128 + the signal number after SIGINT, SIGTERM,
    /// SIGHUP or SIGQUIT, 1 when the console could not start or failed.
    public func run() -> Int32 {
        let ascii = Self.prepareLocale(forceASCII: options.ascii)
        // With events piped into standard input, keys come from /dev/tty.
        let keyboard = isatty(STDIN_FILENO) == 1 ? nil : fopen("/dev/tty", "r")
        guard isatty(STDOUT_FILENO) == 1, isatty(STDIN_FILENO) == 1 || keyboard != nil else {
            Self.printError("The console needs a terminal for its screen and keys. Use '--once' for a one-off snapshot.")
            return 1
        }
        defer { if let keyboard { fclose(keyboard) } }
        // The terminal type is checked before the event source starts and
        // before any key is read, so a terminal the console cannot draw on
        // never has events dispatched or keys acted on behind a blank screen.
        do {
            try Terminal.checkType()
        } catch {
            Self.printError(error.description)
            return 1
        }
        // The event source starts before curses, so an event file that
        // cannot be opened is reported on a normal screen.
        do {
            try session.pump?.start()
        } catch {
            Self.printError("\(error)")
            return 1
        }
        defer { session.pump?.stop() }
        let environmentNoColor = ProcessInfo.processInfo.environment["NO_COLOR"].map { !$0.isEmpty } ?? false
        let terminal: Terminal
        do {
            terminal = try Terminal(useColor: !(options.noColor || environmentNoColor), keyboard: keyboard)
        } catch {
            Self.printError(error.description)
            return 1
        }
        didTakeOverTerminal = true
        let savedStandardError = redirectStandardError()
        ts_install_quit_handlers()
        ts_install_crash_handlers(savedStandardError)
        let sampler = QueueSampler(engine: session.engine)
        logger.info("Console started", [(ConsoleLogKey.ascii, String(ascii))])
        // Every way out of the loop passes here, so the terminal is always restored.
        defer {
            replayJob?.requestStop()
            replayJob?.wait(seconds: 2)
            requeueJob?.requestStop()
            requeueJob?.wait(seconds: 2)
            sampler.stop()
            terminal.restore()
            ts_remove_crash_handlers()
            restoreStandardError(savedStandardError)
        }
        if let reason = session.noSourceReason {
            state.post(reason, level: .warning, now: Date().timeIntervalSince1970)
        }
        let status = loop(terminal: terminal, ascii: ascii)
        logger.info("Console stopped", [(ConsoleLogKey.exitStatus, String(status))])
        return status
    }

    // MARK: - Loop

    private func loop(terminal: Terminal, ascii: Bool) -> Int32 {
        while true {
            if let code = quitSignalStatus() { return code }
            state.applyDueFilter(now: Date().timeIntervalSince1970)
            let snapshot = session.engine.snapshot()
            let now = snapshot.time
            queueReadings.record(snapshot.queues)
            collectMessages(now: now)
            failureRefresh.poll(state: &state, broker: session.broker, now: now)
            let size = terminal.size
            let input = FrameInput(
                snapshot: snapshot, state: state, context: screenContext(ascii: ascii), replay: replayJob?.status,
                requeue: requeueJob?.status, queueReadings: queueReadings)
            let frame = ScreenModel.render(input, width: size.width, height: size.height, cache: cache)
            state.scrolls = frame.scrolls
            state.pageSizes = frame.pageSizes
            terminal.draw(frame.grid, force: forceRedraw)
            forceRedraw = false

            let wait = keyWait()
            guard let key = terminal.readKey(milliseconds: wait) else { continue }
            lastKeyTime = Date().timeIntervalSince1970
            // Handle keys that are already waiting (a paste, key repeat) before drawing again.
            let quits = KeyBurst.drain(first: key, readNext: { terminal.readKey(milliseconds: 0) }) { key in
                handle(key, snapshot: snapshot, now: Date().timeIntervalSince1970)
            }
            if quits { return 0 }
        }
    }

    /// Whether a replay or a requeue is running, or has finished and its
    /// result is not on screen yet.
    private var backgroundJobRunning: Bool {
        if let replayJob, replayJob.isRunning || !replayAnnounced { return true }
        if let requeueJob, requeueJob.isRunning || !requeueAnnounced { return true }
        return false
    }

    /// Milliseconds to wait for a key before drawing again: shorter while
    /// a background job reports progress or an edited filter is due.
    private func keyWait() -> Int {
        // Shortly after a key, results of the work it started (a trigger's
        // confirmation, a finished job) show within 100 ms instead of at the
        // next refresh tick.
        let recentKey = Date().timeIntervalSince1970 - lastKeyTime < 1.5
        var wait = backgroundJobRunning || recentKey ? min(100, options.refreshMilliseconds) : options.refreshMilliseconds
        if let due = state.filterDue {
            let remaining = Int(((due - Date().timeIntervalSince1970) * 1000).rounded(.up))
            wait = min(wait, max(1, remaining))
        }
        return wait
    }

    private func quitSignalStatus() -> Int32? {
        let signal = ts_take_quit_signal()
        guard signal != 0 else { return nil }
        logger.info("Console received a signal", [(ConsoleLogKey.signal, String(signal))])
        return 128 + signal
    }

    /// Applies one key and returns true when it requests quitting.
    private func handle(_ key: Key, snapshot: EngineSnapshot, now: Double) -> Bool {
        if key == .resize { forceRedraw = true }
        let views = PaneViews(snapshot: snapshot, state: state, cache: cache)
        state.reconcile(with: views)
        let effects = state.handle(key, views: views, context: controlContext(snapshot, now: now))
        for effect in effects {
            if perform(effect, now: now) { return true }
        }
        return false
    }

    func screenContext(ascii: Bool) -> ScreenContext {
        var context = ScreenContext(
            brokerLabel: session.brokerLabel, cacheLabel: session.cacheLabel,
            eventSourceLabel: session.pump?.label ?? "none", paused: session.pump?.isPaused ?? false,
            sourceFinished: session.pump?.isFinished ?? false, writeMode: session.writeMode, ascii: ascii,
            rules: session.engine.rules)
        context.hasSource = session.pump?.hasSource ?? false
        return context
    }

    private var writeTargets: WriteTargets {
        WriteTargets(
            brokerLabel: session.brokerLabel, cacheLabel: LocationText.display(session.cacheLabel),
            ruleDispatchers: Array(Set(session.engine.rules.rules.map(\.dispatcher))).sorted())
    }

    private func controlContext(_ snapshot: EngineSnapshot, now: Double) -> ControlContext {
        ControlContext(
            now: now, canWrite: session.writeMode.allowsWrites, isDemoSource: session.pump?.isDemo ?? false,
            replayRunning: replayJob?.isRunning ?? false, requeueRunning: requeueJob?.isRunning ?? false, models: session.engine.rules.models,
            dispatcherNames: snapshot.dispatchers.map(\.name), faults: session.engine.faults.all,
            openFailures: snapshot.failures.open, writeTargets: writeTargets)
    }

    /// Moves messages from background work into the status line, and
    /// announces a finished replay or requeue once.
    private func collectMessages(now: Double) {
        let pending = messages.takeAll()
        for (text, level) in pending { state.post(text, level: level, now: now) }
        if let job = replayJob, let summary = job.status.summary, !replayAnnounced {
            replayAnnounced = true
            state.post(summary.closingLine, level: summary.failed > 0 ? .warning : .info, now: now)
        }
        if let job = requeueJob, !requeueAnnounced, job.status.isFinished {
            let status = job.status
            requeueAnnounced = true
            state.post("Requeue from \(status.queue): " + status.closingLine, level: status.failed > 0 ? .warning : .info, now: now)
            // A detail view of that queue opened meanwhile lists messages
            // that are no longer failed: read them again.
            if case .detail(.queue(status.queue, _, _), let scroll, let full)? = state.dialog {
                state.dialog = .detail(.queue(status.queue, brokerFailures: .loading), scroll: scroll, fullValues: full)
                loadBrokerFailures(status.queue)
            }
        }
    }

    // MARK: - Terminal setup

    /// Sets the locale from the environment, falling back to C.UTF-8 when
    /// no locale variable is set; returns whether to draw in ASCII.
    static func prepareLocale(forceASCII: Bool) -> Bool {
        setlocale(LC_ALL, "")
        let environment = ProcessInfo.processInfo.environment
        let unset = ["LC_ALL", "LC_CTYPE", "LANG"].allSatisfy { (environment[$0] ?? "").isEmpty }
        if ts_locale_is_utf8() == 0 && unset {
            setlocale(LC_ALL, "C.UTF-8")
        }
        return forceASCII || ts_locale_is_utf8() == 0
    }

    /// Sends standard error to the log file while curses owns the screen;
    /// returns a copy of the original, or -1 when nothing was redirected.
    private func redirectStandardError() -> Int32 {
        guard let path = options.logPath else { return -1 }
        let file = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard file >= 0 else { return -1 }
        let saved = dup(STDERR_FILENO)
        dup2(file, STDERR_FILENO)
        close(file)
        return saved
    }

    private func restoreStandardError(_ saved: Int32) {
        guard saved >= 0 else { return }
        dup2(saved, STDERR_FILENO)
    }

    static func printError(_ message: String) {
        FileHandle.standardError.write(Data(("dispatchtop: " + message + "\n").utf8))
    }
}

/// Reads the broker probes once a second on its own thread, so queue
/// sparklines fill while the console waits for keys.
///
/// Every ``trimInterval`` samples it also hands memory that the allocator
/// keeps free back to the system: after a burst (a demo at 200k events/s
/// with a failing consumer), glibc's per-thread arenas otherwise keep the
/// freed backlog for good. Measured on the demo after such a backlog had
/// drained: 310 MB resident before a trim, 191 MB after it.
final class QueueSampler: Sendable {
    private let stopFlag = StopFlag()
    private let done = DispatchSemaphore(value: 0)
    /// Samples, about one a second, between two trims.
    static let trimInterval = 30

    init(engine: Engine) {
        let thread = Thread { [stopFlag, done] in
            var sample = 0
            while !stopFlag.isStopped {
                engine.sampleQueues()
                sample += 1
                if sample % Self.trimInterval == 0 { Self.returnFreeMemory() }
                for _ in 0..<10 where !stopFlag.isStopped {
                    usleep(100_000)
                }
            }
            done.signal()
        }
        thread.name = "console-queue-sampler"
        thread.start()
    }

    func stop() {
        stopFlag.stop()
        _ = done.wait(timeout: .now() + 2)
    }

    /// Releases the free pages of every malloc arena; a no-op where glibc is not the C library.
    static func returnFreeMemory() {
        _ = ts_return_free_memory()
    }
}

/// Status-line messages from background work, taken by the loop.
final class StatusMailbox: Sendable {
    private let queue = Mutex<[(String, StatusMessage.Level)]>([])

    func post(_ text: String, level: StatusMessage.Level) {
        queue.withLock { $0.append((text, level)) }
    }

    func takeAll() -> [(String, StatusMessage.Level)] {
        queue.withLock { pending in
            defer { pending.removeAll() }
            return pending
        }
    }
}
