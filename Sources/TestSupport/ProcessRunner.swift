import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Starts child processes for tests with `posix_spawn`.
///
/// `Foundation.Process` hangs in `waitUntilExit` when the child leaves a
/// daemon behind (tmux, redis-server --daemonize), and test threads block
/// nearly every signal, which a spawned child would inherit: tmux would then
/// never see SIGWINCH or SIGCHLD. This runner resets the signal mask and
/// dispositions and sends output to files, never to pipes.
public enum ProcessRunner {
    /// The result of a finished child.
    public struct Completed: Sendable {
        public var status: Int32
        public var stdout: String
        public var stderr: String
    }

    /// A started child.
    public struct Started: Sendable {
        public var pid: pid_t
        public var stdoutPath: String
        public var stderrPath: String
    }

    /// Starts `arguments[0]` (looked up on PATH) with `arguments`.
    public static func start(
        _ arguments: [String], environment: [String: String]? = nil, directory: String? = nil,
        stdinPath: String? = nil, outputDirectory: String = NSTemporaryDirectory()
    ) throws -> Started {
        let token = UUID().uuidString.prefix(8)
        let stdoutPath = "\(outputDirectory)/spawn-\(token).out"
        let stderrPath = "\(outputDirectory)/spawn-\(token).err"

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, stdinPath ?? "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdoutPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, stderrPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        var all = sigset_t()
        sigfillset(&all)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        // posix_spawn_file_actions_addchdir_np is not visible through Glibc's
        // module here, so a working folder goes through sh.
        let command = directory.map { ["/bin/sh", "-c", "cd \"$0\" && exec \"$@\"", $0] + arguments } ?? arguments
        let environmentList = (environment ?? ProcessInfo.processInfo.environment).map { "\($0.key)=\($0.value)" }
        var pid: pid_t = 0
        let status = withCStrings(command) { argv in
            withCStrings(environmentList) { envp in
                posix_spawnp(&pid, command[0], &actions, &attributes, argv, envp)
            }
        }
        guard status == 0 else {
            throw SpawnError(message: "cannot start \(arguments[0]): \(String(cString: strerror(status)))")
        }
        return Started(pid: pid, stdoutPath: stdoutPath, stderrPath: stderrPath)
    }

    /// Runs a command to completion, killing it after `timeout` seconds.
    public static func run(
        _ arguments: [String], environment: [String: String]? = nil, directory: String? = nil,
        stdinPath: String? = nil, timeout: Double = 60
    ) throws -> Completed {
        let started = try start(arguments, environment: environment, directory: directory, stdinPath: stdinPath)
        let status = wait(started.pid, timeout: timeout)
        defer {
            unlink(started.stdoutPath)
            unlink(started.stderrPath)
        }
        return Completed(
            status: status ?? -1,
            stdout: (try? String(contentsOfFile: started.stdoutPath, encoding: .utf8)) ?? "",
            stderr: (try? String(contentsOfFile: started.stderrPath, encoding: .utf8)) ?? "")
    }

    /// Waits for `pid`; returns its exit status (128 + signal when killed),
    /// or nil after `timeout` seconds, in which case the child is killed.
    public static func wait(_ pid: pid_t, timeout: Double) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        var status: Int32 = 0
        while true {
            let result = waitpid(pid, &status, WNOHANG)
            if result == pid {
                let signal = status & 0x7F
                return signal == 0 ? (status >> 8) & 0xFF : 128 + signal
            }
            if result < 0 { return nil }
            if Date() > deadline {
                kill(pid, SIGKILL)
                _ = waitpid(pid, &status, 0)
                return nil
            }
            usleep(5_000)
        }
    }

    private static func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
        var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
        pointers.append(nil)
        defer { for pointer in pointers { free(pointer) } }
        return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
    }
}

/// A child process that could not be started.
public struct SpawnError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

/// A folder under the system temporary folder, removed by ``remove()``.
public struct TemporaryDirectory: Sendable {
    public let path: String

    public init(prefix: String = "dispatchtop-test") throws {
        let base = NSTemporaryDirectory() + "\(prefix)-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        path = base
    }

    public func file(_ name: String) -> String { "\(path)/\(name)" }

    public func write(_ name: String, _ contents: String) throws -> String {
        let target = file(name)
        try contents.write(toFile: target, atomically: true, encoding: .utf8)
        return target
    }

    public func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }
}

/// Finds a free TCP port on 127.0.0.1 by binding port 0 and reading back
/// the port the kernel chose.
public func freeLoopbackPort() throws -> Int {
    let socketDescriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard socketDescriptor >= 0 else { throw SpawnError(message: "socket() failed") }
    defer { close(socketDescriptor) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socketDescriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard bound == 0 else { throw SpawnError(message: "bind() to 127.0.0.1:0 failed") }
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(socketDescriptor, $0, &length) }
    }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// Polls `condition` every 20 ms until it holds or `timeout` seconds pass.
public func waitFor(timeout: Double, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if condition() { return true }
        usleep(20_000)
    }
    return condition()
}
