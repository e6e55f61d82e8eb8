@preconcurrency import CSQLite

/// A SQLite failure, with the statement's context.
public struct JournalError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var path: String

    public var description: String { "failure journal '\(path)': \(message)" }
}

/// A thin wrapper over one SQLite connection. Not thread-safe on its own;
/// ``FailureJournal`` keeps it behind a mutex.
final class SQLiteDatabase {
    private var handle: OpaquePointer?
    private var statements: [String: OpaquePointer] = [:]
    let path: String

    /// SQLite's SQLITE_TRANSIENT: copy bound bytes before returning.
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    init(path: String) throws(JournalError) {
        self.path = path
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        let status = sqlite3_open_v2(path, &handle, flags, nil)
        guard status == SQLITE_OK else {
            let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open"
            sqlite3_close(handle)
            handle = nil
            throw JournalError(message: "cannot open the database: \(message)", path: path)
        }
        sqlite3_busy_timeout(handle, 5000)
    }

    deinit {
        for statement in statements.values { sqlite3_finalize(statement) }
        sqlite3_close(handle)
    }

    func execute(_ sql: String) throws(JournalError) {
        var error: UnsafeMutablePointer<CChar>?
        if sqlite3_exec(handle, sql, nil, nil, &error) != SQLITE_OK {
            let message = error.map { String(cString: $0) } ?? "unknown error"
            sqlite3_free(error)
            throw JournalError(message: message, path: path)
        }
    }

    /// A value bound to a statement parameter or read from a column.
    enum Value {
        case null
        case integer(Int64)
        case real(Double)
        case text(String)
        case blob([UInt8])

        var integer: Int64? { if case .integer(let value) = self { return value } else { return nil } }
        var real: Double? {
            switch self {
            case .real(let value): return value
            case .integer(let value): return Double(value)
            default: return nil
            }
        }
        var text: String? { if case .text(let value) = self { return value } else { return nil } }
        var blob: [UInt8]? { if case .blob(let value) = self { return value } else { return nil } }
    }

    /// Runs a statement (cached by its text) and returns every row.
    @discardableResult
    func query(_ sql: String, _ parameters: [Value] = []) throws(JournalError) -> [[Value]] {
        let statement = try prepare(sql)
        defer {
            sqlite3_reset(statement)
            sqlite3_clear_bindings(statement)
        }
        for (offset, parameter) in parameters.enumerated() {
            let index = Int32(offset + 1)
            let status: Int32
            switch parameter {
            case .null: status = sqlite3_bind_null(statement, index)
            case .integer(let value): status = sqlite3_bind_int64(statement, index, value)
            case .real(let value): status = sqlite3_bind_double(statement, index, value)
            case .text(let value): status = sqlite3_bind_text(statement, index, value, -1, Self.transient)
            case .blob(let value):
                status = value.withUnsafeBytes { raw in
                    sqlite3_bind_blob(statement, index, raw.baseAddress, Int32(raw.count), Self.transient)
                }
            }
            guard status == SQLITE_OK else { throw lastError("binding parameter \(index)") }
        }
        var rows: [[Value]] = []
        while true {
            let status = sqlite3_step(statement)
            if status == SQLITE_DONE { break }
            guard status == SQLITE_ROW else { throw lastError("running a statement") }
            rows.append((0..<sqlite3_column_count(statement)).map { column(statement, $0) })
        }
        return rows
    }

    var lastInsertID: Int64 { sqlite3_last_insert_rowid(handle) }

    private func column(_ statement: OpaquePointer, _ index: Int32) -> Value {
        switch sqlite3_column_type(statement, index) {
        case SQLITE_INTEGER: return .integer(sqlite3_column_int64(statement, index))
        case SQLITE_FLOAT: return .real(sqlite3_column_double(statement, index))
        case SQLITE_TEXT: return .text(String(cString: sqlite3_column_text(statement, index)))
        case SQLITE_BLOB:
            let count = Int(sqlite3_column_bytes(statement, index))
            guard count > 0, let bytes = sqlite3_column_blob(statement, index) else { return .blob([]) }
            return .blob(Array(UnsafeRawBufferPointer(start: bytes, count: count)))
        default: return .null
        }
    }

    private func prepare(_ sql: String) throws(JournalError) -> OpaquePointer {
        if let cached = statements[sql] { return cached }
        var statement: OpaquePointer?
        guard sqlite3_prepare_v2(handle, sql, -1, &statement, nil) == SQLITE_OK, let statement else {
            throw lastError("preparing a statement")
        }
        statements[sql] = statement
        return statement
    }

    private func lastError(_ action: String) -> JournalError {
        JournalError(message: "\(action) failed: \(String(cString: sqlite3_errmsg(handle)))", path: path)
    }
}
