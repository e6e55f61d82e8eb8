@preconcurrency import CSQLite

/// Read-only access to django-q2's `django_q_task` table in a SQLite Django database.
///
/// django-q2's monitor writes every finished task there; failures have
/// `success` = 0. `args`, `kwargs` and `result` are django-picklefield
/// values: standard base64 of a pickle. The file is opened with
/// SQLITE_OPEN_READONLY, so reading it never changes the application's database.
struct DjangoQTaskTable: ~Copyable {
    struct ReadError: Error, Sendable {
        var message: String
    }

    /// One failed task as the table stores it.
    struct FailedTask: Sendable {
        var id: String
        var name: String
        var function: String
        var args: PickleValue?
        var kwargs: PickleValue?
        var group: String?
        var cluster: String?
        var hook: String?
        /// The pickled result, which for a failure is the error text.
        var result: PickleValue?
        /// Seconds since the Unix epoch.
        var stopped: Double?
        var attempts: Int?
        /// The reason a pickled column could not be read, when one could not.
        var undecodableReason: String?
    }

    private let database: OpaquePointer
    let path: String

    init(path: String) throws(ReadError) {
        var handle: OpaquePointer?
        let status = sqlite3_open_v2(path, &handle, SQLITE_OPEN_READONLY, nil)
        guard status == SQLITE_OK, let handle else {
            let reason = handle.map { String(cString: sqlite3_errmsg($0)) } ?? "status \(status)"
            sqlite3_close(handle)
            throw ReadError(message: "cannot open the Django database '\(path)': \(reason)")
        }
        sqlite3_busy_timeout(handle, 200)
        database = handle
        self.path = path
    }

    deinit {
        sqlite3_close(database)
    }

    /// Counts the failed tasks of all clusters.
    func failureCount() throws(ReadError) -> Int {
        var count = 0
        try query("SELECT COUNT(*) FROM django_q_task WHERE success = 0", bind: { _ in }) { statement in
            count = Int(sqlite3_column_int64(statement, 0))
        }
        return count
    }

    /// Returns the newest failed tasks by stop time, at most `limit`.
    func failedTasks(limit: Int) throws(ReadError) -> [FailedTask] {
        var tasks: [FailedTask] = []
        let sql = "\(Self.selectColumns) WHERE success = 0 ORDER BY stopped DESC LIMIT ?"
        try query(sql, bind: { sqlite3_bind_int64($0, 1, Int64(limit)) }) { tasks.append(Self.failedTask($0)) }
        return tasks
    }

    /// Returns the failed task with `id`, or nil when there is none (or it has succeeded since).
    func failedTask(id: String) throws(ReadError) -> FailedTask? {
        var found: FailedTask?
        let sql = "\(Self.selectColumns) WHERE success = 0 AND id = ?"
        try query(sql, bind: { sqlite3_bind_text($0, 1, id, -1, Self.transient) }) { found = Self.failedTask($0) }
        return found
    }

    // MARK: - SQLite

    private static let selectColumns = """
        SELECT id, name, func, args, kwargs, "group", cluster, hook, result, stopped, attempt_count FROM django_q_task
        """

    /// SQLITE_TRANSIENT, which is a macro Swift does not import: SQLite copies the bound text.
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    private func query(
        _ sql: String, bind: (OpaquePointer) -> Void, row: (OpaquePointer) -> Void
    ) throws(ReadError) {
        var statement: OpaquePointer?
        guard sqlite3_prepare_v2(database, sql, -1, &statement, nil) == SQLITE_OK, let statement else {
            throw ReadError(message: "cannot read django_q_task in '\(path)': \(String(cString: sqlite3_errmsg(database)))")
        }
        defer { sqlite3_finalize(statement) }
        bind(statement)
        while true {
            let status = sqlite3_step(statement)
            if status == SQLITE_DONE { return }
            guard status == SQLITE_ROW else {
                throw ReadError(message: "cannot read django_q_task in '\(path)': \(String(cString: sqlite3_errmsg(database)))")
            }
            row(statement)
        }
    }

    private static func failedTask(_ statement: OpaquePointer) -> FailedTask {
        var reasons: [String] = []
        func pickled(_ column: Int32, _ name: String) -> PickleValue? {
            guard let text = text(statement, column) else { return nil }
            guard let data = Base64Text.decode(text) else {
                reasons.append("\(name) is not base64")
                return nil
            }
            do {
                return try PickleDecoder.decode(data)
            } catch {
                reasons.append("\(name): \(error)")
                return nil
            }
        }
        let stopped = text(statement, 9).flatMap(TimeText.parse)
        let attempts = sqlite3_column_type(statement, 10) == SQLITE_NULL ? nil : Int(sqlite3_column_int64(statement, 10))
        return FailedTask(
            id: text(statement, 0) ?? "", name: text(statement, 1) ?? "", function: text(statement, 2) ?? "",
            args: pickled(3, "args"), kwargs: pickled(4, "kwargs"), group: text(statement, 5), cluster: text(statement, 6),
            hook: text(statement, 7), result: pickled(8, "result"), stopped: stopped, attempts: attempts,
            undecodableReason: reasons.isEmpty ? nil : reasons.joined(separator: "; "))
    }

    private static func text(_ statement: OpaquePointer, _ column: Int32) -> String? {
        guard sqlite3_column_type(statement, column) != SQLITE_NULL, let pointer = sqlite3_column_text(statement, column)
        else { return nil }
        return String(cString: pointer)
    }
}
