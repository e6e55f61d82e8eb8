@preconcurrency import CSQLite

/// Read-only access to django-q2's `django_q_task` table in a SQLite Django database.
///
/// django-q2 writes every finished task there; failures have `success` = 0.
/// The file is opened with SQLITE_OPEN_READONLY, so reading it never
/// changes the application's database.
struct DjangoQTaskTable: ~Copyable {
    struct ReadError: Error, Sendable {
        var message: String
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

    /// The number of failed tasks, across all clusters.
    func failureCount() throws(ReadError) -> Int {
        var statement: OpaquePointer?
        let sql = "SELECT COUNT(*) FROM django_q_task WHERE success = 0"
        guard sqlite3_prepare_v2(database, sql, -1, &statement, nil) == SQLITE_OK, let statement else {
            throw ReadError(message: "cannot read django_q_task in '\(path)': \(String(cString: sqlite3_errmsg(database)))")
        }
        defer { sqlite3_finalize(statement) }
        guard sqlite3_step(statement) == SQLITE_ROW else {
            throw ReadError(message: "cannot count django_q_task failures in '\(path)': \(String(cString: sqlite3_errmsg(database)))")
        }
        return Int(sqlite3_column_int64(statement, 0))
    }
}
