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

    /// Starts a server on `port`, or on a free port when it is nil.
    ///
    /// Another process can take a free port before redis-server binds it, so
    /// such a start is retried on another free port, up to five times.
    /// - Parameter password: set as `requirepass` when given.
    public init(port: Int? = nil, password: String? = nil) throws {
        var attempt = 1
        while true {
            let chosen = try port ?? freeLoopbackPort()
            let folder = try TemporaryDirectory(prefix: "redis-\(chosen)")
            do {
                let pid = try Self.launch(port: chosen, password: password, directory: folder)
                self.port = chosen
                self.password = password
                directory = folder
                running.withLock { $0 = pid }
                return
            } catch let error as SpawnError where port == nil && attempt < 5 && error.message.contains("Address already in use") {
                folder.remove()
                attempt += 1
            }
        }
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
        let pid = try Self.launch(port: port, password: password, directory: directory)
        running.withLock { $0 = pid }
    }

    /// Starts a daemonized redis-server and returns its pid once it responds.
    ///
    /// The server that responds must report that pid in `INFO server`, so a
    /// server that failed to bind is never mistaken for another one
    /// already listening on the same port.
    private static func launch(port: Int, password: String?, directory: TemporaryDirectory) throws -> pid_t {
        let pidFile = directory.file("redis.pid")
        unlink(pidFile)
        var arguments = [
            "redis-server", "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--daemonize", "yes", "--pidfile", pidFile, "--logfile", directory.file("redis.log"), "--dir", directory.path,
        ]
        if let password { arguments += ["--requirepass", password] }
        let launcher = try ProcessRunner.start(arguments, outputDirectory: directory.path)
        let status = ProcessRunner.wait(launcher.pid, timeout: 10)
        guard status == 0 else {
            throw SpawnError(message: "redis-server exited with status \(status.map(String.init) ?? "timeout"): \(log(directory))")
        }
        var started: pid_t?
        var exited = false
        let ready = waitFor(timeout: 10) {
            started = started ?? readPID(pidFile)
            // A server that cannot bind its port may exit before it writes its pid file.
            if log(directory).contains("aborting") {
                exited = true
                return true
            }
            guard let pid = started else { return false }
            if !isRunning(pid) {
                exited = true
                return true
            }
            return serverProcessID(port: port, password: password) == pid
        }
        if exited {
            throw SpawnError(message: "redis-server on port \(port) exited before it was ready: \(log(directory))")
        }
        guard ready, let pid = started else {
            if let pid = started { stop(pid) }
            throw SpawnError(message: "redis-server on port \(port) did not start within 10 s: \(log(directory))")
        }
        return pid
    }

    /// Stops the server: SIGTERM, then SIGKILL after two seconds. Safe to call twice.
    public func stop() {
        guard let target = processID ?? Self.readPID(pidFile) else { return }
        Self.stop(target)
        running.withLock { $0 = nil }
    }

    private static func stop(_ target: pid_t) {
        Glibc.kill(target, SIGTERM)
        if !waitFor(timeout: 2, { !isRunning(target) }) {
            Glibc.kill(target, SIGKILL)
            _ = waitFor(timeout: 2) { !isRunning(target) }
        }
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
        Self.log(directory)
    }

    private static func log(_ directory: TemporaryDirectory) -> String {
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
        exchange(port: port, password: password, command: ["PING"]) { $0.contains("PONG") } != nil
    }

    /// Returns the `process_id` that the server on `port` reports in `INFO server`.
    static func serverProcessID(port: Int, password: String?) -> pid_t? {
        let marker = "process_id:"
        let reply = exchange(port: port, password: password, command: ["INFO", "server"]) { text in
            guard let range = text.range(of: marker) else { return false }
            return text[range.upperBound...].contains("\r\n")
        }
        guard let reply, let range = reply.range(of: marker) else { return nil }
        return pid_t(reply[range.upperBound...].prefix { $0.isNumber })
    }

    /// Sends AUTH (when a password is set) and `command` over a plain socket.
    /// Returns the reply once `complete` accepts it, or nil when the
    /// connection fails, closes or times out (after a second) first.
    private static func exchange(
        port: Int, password: String?, command: [String], until complete: (String) -> Bool
    ) -> String? {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return nil }
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
        guard connected == 0 else { return nil }
        var request = ""
        if let password { request += resp(["AUTH", password]) }
        request += resp(command)
        let bytes = Array(request.utf8)
        guard send(descriptor, bytes, bytes.count, 0) == bytes.count else { return nil }
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while !complete(String(decoding: received, as: UTF8.self)) {
            let count = recv(descriptor, &buffer, buffer.count, 0)
            guard count > 0 else { return nil }
            received += buffer[0..<count]
        }
        return String(decoding: received, as: UTF8.self)
    }

    private static func resp(_ parts: [String]) -> String {
        "*\(parts.count)\r\n" + parts.map { "$\($0.utf8.count)\r\n\($0)\r\n" }.joined()
    }
}
