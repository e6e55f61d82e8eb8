import Engine
import Foundation
import TestSupport

/// Runs the `dispatchtop` executable, which `swift test` builds next to the
/// test binary because this target depends on it.
enum DispatchtopCommand {
    /// The output of one finished run.
    struct Output {
        var status: Int32
        /// Standard output as JSON values, one per non-empty line.
        var lines: [JSONValue]
        var stdout: String
        var stderr: String

        /// The `outcome` of each dispatch line, in order.
        var outcomes: [String] { lines.map { $0["outcome"]?.stringValue ?? "?" } }
        /// The `event` index of each dispatch line, in order.
        var events: [Int64] { lines.map { $0["event"]?.intValue ?? -1 } }
        /// The stable `rule_ids` of each dispatch line, in order.
        var ruleIDs: [[String]] { lines.map { $0["rule_ids"]?.arrayValue?.compactMap(\.stringValue) ?? [] } }
        /// Everything the command printed, for failure messages.
        var transcript: String { "exit status \(status)\n--- stdout ---\n\(stdout)--- stderr ---\n\(stderr)" }
    }

    /// Returns the executable's path, beside the running test binary.
    static func path() throws -> String {
        let testBinary = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        let folder = URL(fileURLWithPath: testBinary).deletingLastPathComponent()
        let path = folder.appendingPathComponent("dispatchtop").path
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw InteropSetupError("'\(path)' does not exist. Build it with 'swift build --product dispatchtop'.")
        }
        return path
    }

    /// Runs `dispatchtop` with `arguments` to completion.
    /// - Parameter stdinPath: a file (or FIFO) to read standard input from.
    static func run(_ arguments: [String], stdinPath: String? = nil, timeout: Double = 120) throws -> Output {
        var environment = ProcessInfo.processInfo.environment
        environment["SWIFT_BACKTRACE"] = "enable=no"
        let result = try ProcessRunner.run(
            [try path()] + arguments, environment: environment, stdinPath: stdinPath, timeout: timeout)
        return try output(status: result.status, stdout: result.stdout, stderr: result.stderr)
    }

    /// Parses the standard output of a finished run.
    static func output(status: Int32, stdout: String, stderr: String) throws -> Output {
        let lines = try stdout.split(separator: "\n").map { try JSONParser.parse(String($0)) }
        return Output(status: status, lines: lines, stdout: stdout, stderr: stderr)
    }
}
