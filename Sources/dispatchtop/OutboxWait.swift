import Engine
import Foundation

/// Waits for the journal's outbox to empty before a headless command exits.
///
/// The outbox drainer sends in the background, so a command that ends
/// soon after it starts would otherwise stop it before its first pass.
enum OutboxWait {
    /// Returns the number of batches in the outbox now. Read it as the
    /// command starts, to pass to ``wait(_:timeout:waitingAtStart:)``.
    static func count(_ setup: EngineSetup) -> Int {
        setup.engine.journal?.outboxCount() ?? 0
    }

    /// Waits, up to `timeout` seconds, for batches in the journal's outbox
    /// to be sent once the broker is back, and reports on standard error.
    /// Returns false when some still wait.
    /// - Parameter waitingAtStart: the outbox's count when the command
    ///   started, so that batches the drainer sent before the wait are
    ///   reported too.
    static func wait(_ setup: EngineSetup, timeout: Double, waitingAtStart: Int) -> Bool {
        guard let journal = setup.engine.journal else { return true }
        let waiting = journal.outboxCount()
        let total = max(waitingAtStart, waiting)
        if waiting > 0 {
            printError("\(waiting) batches wait in the outbox for the broker; waiting up to \(Int(timeout)) s for them to be sent.")
            let deadline = Date().addingTimeInterval(timeout)
            while Date() < deadline && journal.outboxCount() > 0 {
                usleep(200_000)
            }
        }
        let left = journal.outboxCount()
        guard left > 0 else {
            if total > 0 { printError("The outbox is empty: the \(total) batches that waited in it were sent.") }
            return true
        }
        printError(
            "\(left) batches still wait in the outbox of \(setup.journalPath). They are kept; a dispatchtop run, replay, or "
                + "console started with --write, with --journal \(setup.journalPath) and the same --broker, sends them when the broker answers.")
        return false
    }
}
