import Foundation
import Synchronization

/// Severity of a log record, lowest first.
public enum LogLevel: Int, Sendable, Comparable, CustomStringConvertible {
    case trace, debug, info, notice, warning, error

    public static func < (left: LogLevel, right: LogLevel) -> Bool { left.rawValue < right.rawValue }

    public var description: String {
        switch self {
        case .trace: return "trace"
        case .debug: return "debug"
        case .info: return "info"
        case .notice: return "notice"
        case .warning: return "warning"
        case .error: return "error"
        }
    }

    /// Parses a level name as used by `--log-level`.
    public init?(name: String) {
        switch name.lowercased() {
        case "trace": self = .trace
        case "debug": self = .debug
        case "info": self = .info
        case "notice": self = .notice
        case "warning", "warn": self = .warning
        case "error": self = .error
        default: return nil
        }
    }
}

/// One log record: a fixed message and its data as metadata.
public struct LogRecord: Sendable {
    public var time: Date
    public var level: LogLevel
    public var label: String
    public var message: String
    public var metadata: [(String, String)]
}

/// Where log records go.
public protocol LogHandler: Sendable {
    func emit(_ record: LogRecord)
    /// Writes out whatever the handler still holds; called before the process exits.
    func flush()
}

extension LogHandler {
    public func flush() {}
}

/// A logger shaped like swift-log's: a label, a minimum level, and a fixed
/// message plus metadata per call. No outside package can be fetched for this
/// build, so this small type stands in; the call sites read the same way.
public struct Logger: Sendable {
    public let label: String
    public var minimumLevel: LogLevel
    private let handler: any LogHandler

    public init(label: String, handler: any LogHandler, minimumLevel: LogLevel = .info) {
        self.label = label
        self.handler = handler
        self.minimumLevel = minimumLevel
    }

    /// A logger that drops every record.
    public static let disabled = Logger(label: "disabled", handler: DiscardingLogHandler(), minimumLevel: .error)

    /// Writes out whatever the handler still holds, such as counts of
    /// dropped repeated lines; call it before the process exits.
    public func flush() {
        handler.flush()
    }

    /// Returns a logger with the same handler and level under another label.
    public func child(_ label: String) -> Logger {
        Logger(label: label, handler: handler, minimumLevel: minimumLevel)
    }

    public func log(_ level: LogLevel, _ message: String, _ metadata: [(String, String)] = []) {
        guard level >= minimumLevel else { return }
        handler.emit(LogRecord(time: Date(), level: level, label: label, message: message, metadata: metadata))
    }

    public func trace(_ message: String, _ metadata: [(String, String)] = []) { log(.trace, message, metadata) }
    public func debug(_ message: String, _ metadata: [(String, String)] = []) { log(.debug, message, metadata) }
    public func info(_ message: String, _ metadata: [(String, String)] = []) { log(.info, message, metadata) }
    public func notice(_ message: String, _ metadata: [(String, String)] = []) { log(.notice, message, metadata) }
    public func warning(_ message: String, _ metadata: [(String, String)] = []) { log(.warning, message, metadata) }
    public func error(_ message: String, _ metadata: [(String, String)] = []) { log(.error, message, metadata) }
}

/// Metadata keys, declared once so log lines stay consistent and searchable.
public enum LogKey {
    public static let batchID = "batch.id"
    public static let dispatcher = "dispatcher"
    public static let ruleIDs = "rule.ids"
    public static let ruleID = "rule.id"
    public static let function = "function"
    public static let model = "model"
    public static let pk = "pk"
    public static let error = "error"
    public static let attempt = "attempt"
    public static let journalID = "journal.id"
    public static let queue = "queue"
    public static let path = "path"
    public static let line = "line"
    public static let url = "url"
    public static let delay = "delay_ms"
    public static let count = "count"
}

/// Drops every record.
public struct DiscardingLogHandler: LogHandler {
    public init() {}
    public func emit(_ record: LogRecord) {}
}

/// Appends records as text lines to a file.
///
/// The console owns the terminal, so every log goes to a file. Writes are
/// serialised by a mutex and unbuffered, so a crash loses no logged line.
public final class FileLogHandler: LogHandler {
    private let file: Mutex<FileHandle>
    public let path: String

    /// Opens (creating or appending to) the log file at `path`.
    public init(path: String) throws {
        let manager = FileManager.default
        if !manager.fileExists(atPath: path) {
            guard manager.createFile(atPath: path, contents: nil) else {
                throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: path])
            }
        }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.seekToEnd()
        self.path = path
        file = Mutex(handle)
    }

    public func emit(_ record: LogRecord) {
        let line = LogFormat.line(for: record) + "\n"
        file.withLock { handle in
            try? handle.write(contentsOf: Data(line.utf8))
        }
    }
}

/// Keeps records in memory, for tests that assert on what was logged.
public final class MemoryLogHandler: LogHandler {
    private let records = Mutex<[LogRecord]>([])

    public init() {}

    public func emit(_ record: LogRecord) {
        records.withLock { $0.append(record) }
    }

    public var all: [LogRecord] { records.withLock { $0 } }

    /// The formatted lines, oldest first.
    public var lines: [String] { all.map(LogFormat.line(for:)) }
}

/// The text form of a log record: time, level, label, message, then metadata.
public enum LogFormat {
    public static func line(for record: LogRecord) -> String {
        var text = "\(timestamp(record.time)) \(record.level) \(record.label): \(record.message)"
        for (key, value) in record.metadata {
            text += " \(key)=\(quoteIfNeeded(value))"
        }
        return text
    }

    /// Formats a time as UTC ISO 8601 with milliseconds.
    public static func timestamp(_ time: Date) -> String {
        let millis = Int64((time.timeIntervalSince1970 * 1000).rounded(.down))
        return UTCTime.iso8601(millisecondsSinceEpoch: millis)
    }

    private static func quoteIfNeeded(_ value: String) -> String {
        if value.isEmpty || value.contains(where: { $0 == " " || $0 == "\"" || $0 == "\n" || $0 == "=" }) {
            return JSONWriter.string(.string(value))
        }
        return value
    }
}
