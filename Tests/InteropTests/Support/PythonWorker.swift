import Foundation
import Synchronization
import TestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// A real task worker started through the harness's `run_worker.py`, which
/// execs the worker, so the pid started here is the worker's own.
///
/// The worker runs in a new session (through `setsid`), so that when it does
/// not stop on its signal, ``kill()`` can end the processes it forked too, by
/// their process group, which is the worker's pid.
final class PythonWorker: Sendable {
    /// How a worker is started and stopped.
    struct Kind: Sendable {
        /// The `run_worker.py` name: celery, rqworker, rq, dramatiq or qcluster.
        var name: String
        /// The signal that stops it with exit status 0.
        var stopSignal: Int32
        /// Seconds after which the stop signal is sent again, for rq, whose
        /// warm shutdown can block and which treats a second signal as a cold shutdown.
        var repeatStopAfter: Double?

        static let celery = Kind(name: "celery", stopSignal: SIGTERM)
        static let rqworker = Kind(name: "rqworker", stopSignal: SIGTERM, repeatStopAfter: 1.5)
        static let dramatiq = Kind(name: "dramatiq", stopSignal: SIGTERM)
        static let qcluster = Kind(name: "qcluster", stopSignal: SIGINT)
    }

    let kind: Kind
    let pid: pid_t
    let stdoutPath: String
    let stderrPath: String
    private let exited = Atomic<Bool>(false)

    /// Starts the worker on the site's Redis.
    init(_ kind: Kind, site: InteropSite, arguments: [String] = []) throws {
        guard let setsid = InteropHarness.executablePath("setsid") else {
            throw InteropSetupError("'setsid' is not on PATH. Install util-linux.")
        }
        let started = try ProcessRunner.start(
            [setsid, InteropHarness.python, "\(InteropHarness.scripts)/run_worker.py", kind.name] + arguments,
            environment: site.environment, outputDirectory: site.folder.path)
        self.kind = kind
        pid = started.pid
        stdoutPath = started.stdoutPath
        stderrPath = started.stderrPath
    }

    /// Stops the worker with its signal and returns its exit status, or nil
    /// when it had to be killed after `timeout` seconds.
    func stop(timeout: Double = 30) -> Int32? {
        guard !exited.load(ordering: .relaxed) else { return nil }
        Glibc.kill(pid, kind.stopSignal)
        if let repeatAfter = kind.repeatStopAfter {
            if let status = reap(timeout: repeatAfter) { return status }
            Glibc.kill(pid, kind.stopSignal)
        }
        if let status = reap(timeout: timeout) { return status }
        kill()
        return nil
    }

    /// Kills the worker's process group with SIGKILL and reaps the worker;
    /// does nothing once the worker has exited.
    func kill() {
        guard !exited.load(ordering: .relaxed) else { return }
        Glibc.kill(-pid, SIGKILL)
        _ = reap(timeout: 5)
    }

    private func reap(timeout: Double) -> Int32? {
        let status = ProcessRunner.waitWithoutKilling(pid, timeout: timeout)
        if status != nil { exited.store(true, ordering: .relaxed) }
        return status
    }

    /// The last lines of the worker's output, for failure messages.
    var log: String {
        let output = (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? ""
        let errors = (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? ""
        let lines = (output + errors).split(separator: "\n", omittingEmptySubsequences: false)
        return "--- \(kind.name) worker output (last 60 lines) ---\n" + lines.suffix(60).joined(separator: "\n")
    }
}

extension ProcessRunner {
    /// Waits up to `timeout` seconds for `pid` to exit; returns its exit
    /// status, or nil while it still runs. Unlike ``wait(_:timeout:)`` it never kills.
    static func waitWithoutKilling(_ pid: pid_t, timeout: Double) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        var status: Int32 = 0
        while true {
            let result = waitpid(pid, &status, WNOHANG)
            if result == pid {
                let signal = status & 0x7F
                return signal == 0 ? (status >> 8) & 0xFF : 128 + signal
            }
            if result < 0 || Date() > deadline { return nil }
            usleep(20_000)
        }
    }
}
