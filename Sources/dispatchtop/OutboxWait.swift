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

    /// Returns which later processes send the batches waiting in the outbox of `journalPath`.
    static func resendHint(journalPath: String) -> String {
        "a dispatchtop run, replay, or console started with --write, with --journal \(journalPath) and the same --broker, "
            + "sends them when the broker answers"
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
            if total > 0 {
                printError(
                    "The outbox is empty: the \(total) batches that waited in it were sent, by this process or another draining the same journal.")
            }
            return true
        }
        printError(
            "\(left) batches still wait in the outbox of \(setup.journalPath). They are kept; "
                + resendHint(journalPath: setup.journalPath) + ".")
        let now = Date().timeIntervalSince1970
        if let claims = try? journal.outboxClaims(now: now), claims.count > 0, let until = claims.lastUntil {
            // Claims of a live process end with its pass. These outlived the
            // wait, so their process most likely stopped while sending.
            printError(
                "\(claims.count) of them are claimed by another process, which is still sending them or stopped while sending. "
                    + "Its claims run out within \(Int((until - now).rounded(.up))) s; run again after that to send them.")
        }
        return false
    }
}
