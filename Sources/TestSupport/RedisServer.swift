import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A private redis-server on a free 127.0.0.1 port, for tests and benchmarks.
///
/// It runs daemonized with no persistence, its pid file, log and working
/// folder in its own temporary folder, and is stopped by the pid in that pid
/// file: SIGTERM first, SIGKILL if it has not exited within two seconds. It
/// never touches any other Redis server on the machine.
public final class RedisServer: Sendable {
    public let port: Int
    public let password: String?
    public let directory: TemporaryDirectory
    private let running = Mutex<pid_t?>(nil)

    /// Starts a server on a free port.
    /// - Parameter password: set as `requirepass` when given.
    public convenience init(password: String? = nil) throws {
        try self.init(port: freeLoopbackPort(), password: password)
    }

    /// Starts a server on `port`.
    public init(port: Int, password: String? = nil) throws {
        self.port = port
        self.password = password
        directory = try TemporaryDirectory(prefix: "redis-\(port)")
        try start()
    }

    deinit {
        stop()
        directory.remove()
    }

    /// `redis://[:password@]127.0.0.1:port/database`.
    public func url(database: Int = 0) -> String {
        let userInfo = password.map { ":\($0)@" } ?? ""
        return "redis://\(userInfo)127.0.0.1:\(port)/\(database)"
    }

    public var pidFile: String { directory.file("redis.pid") }

    /// The server's process id while it runs.
    public var processID: pid_t? { running.withLock { $0 } }

    /// Starts the server again on the same port after ``stop()`` or ``kill()``.
    public func start() throws {
        guard processID == nil else { return }
        unlink(pidFile)
        var arguments = [
            "redis-server", "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--daemonize", "yes", "--pidfile", pidFile, "--logfile", directory.file("redis.log"), "--dir", directory.path,
        ]
        if let password { arguments += ["--requirepass", password] }
        let launcher = try ProcessRunner.start(arguments, outputDirectory: directory.path)
        let status = ProcessRunner.wait(launcher.pid, timeout: 10)
        guard status == 0 else {
            throw SpawnError(message: "redis-server exited with status \(status.map(String.init) ?? "timeout"): \(log())")
        }
        var started: pid_t?
        let ready = waitFor(timeout: 10) {
            started = started ?? Self.readPID(pidFile)
            return started != nil && Self.ping(port: port, password: password)
        }
        running.withLock { $0 = started }
        guard ready, started != nil else {
            stop()
            throw SpawnError(message: "redis-server on port \(port) did not respond to PING within 10 s: \(log())")
        }
    }

    /// Stops the server: SIGTERM, then SIGKILL after two seconds. Safe to call twice.
    public func stop() {
        guard let target = processID ?? Self.readPID(pidFile) else { return }
        Glibc.kill(target, SIGTERM)
        if !waitFor(timeout: 2, { !Self.isRunning(target) }) {
            Glibc.kill(target, SIGKILL)
            _ = waitFor(timeout: 2) { !Self.isRunning(target) }
        }
        running.withLock { $0 = nil }
    }

    /// Kills the server with SIGKILL, as a crash would, and waits for it to be gone.
    public func kill() {
        guard let target = processID else { return }
        Glibc.kill(target, SIGKILL)
        _ = waitFor(timeout: 2) { !Self.isRunning(target) }
        running.withLock { $0 = nil }
    }

    /// Returns the server's log, for failure messages.
    public func log() -> String {
        (try? String(contentsOfFile: directory.file("redis.log"), encoding: .utf8)) ?? "(no log)"
    }

    private static func readPID(_ path: String) -> pid_t? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        return pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// Checks whether the daemon still runs. It is not our child, so this
    /// uses kill(pid, 0) and /proc, where a zombie not reaped yet counts as exited.
    private static func isRunning(_ pid: pid_t) -> Bool {
        guard Glibc.kill(pid, 0) == 0 || errno != ESRCH else { return false }
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return false }
        return !stat[close...].hasPrefix(") Z")
    }

    /// Sends AUTH (when a password is set) and PING over a plain socket and
    /// looks for `+PONG`, so this support code needs no Redis client.
    public static func ping(port: Int, password: String? = nil) -> Bool {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        var timeout = timeval(tv_sec: 1, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else { return false }
        var request = ""
        if let password { request += resp(["AUTH", password]) }
        request += resp(["PING"])
        let bytes = Array(request.utf8)
        guard send(descriptor, bytes, bytes.count, 0) == bytes.count else { return false }
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 256)
        while !String(decoding: received, as: UTF8.self).contains("PONG") {
            let count = recv(descriptor, &buffer, buffer.count, 0)
            guard count > 0 else { return false }
            received += buffer[0..<count]
        }
        return true
    }

    private static func resp(_ parts: [String]) -> String {
        "*\(parts.count)\r\n" + parts.map { "$\($0.utf8.count)\r\n\($0)\r\n" }.joined()
    }
}
