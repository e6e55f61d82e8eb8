import Synchronization

/// The durable record of failed batches, in SQLite with write-ahead logging.
///
/// Every write commits before the call returns, with `synchronous=FULL`
/// (one fsync per commit), so a failure the engine has journalled survives a
/// SIGKILL of the process and a power cut alike. Entries are never deleted:
/// a batch that later succeeds is marked resolved.
///
/// The newest ``listingCap`` entries are also kept in memory as summaries,
/// so the console reads them without touching the database.
public final class FailureJournal: Sendable {
    public static let schemaVersion = 1
    public let path: String
    public let listingCap: Int

    private struct State {
        var database: SQLiteDatabase
        /// Summaries ordered by id, ascending.
        var rows: [FailureSummary] = []
        var total = 0
        var open = 0
    }

    private let state: Mutex<State>

    /// Opens or creates the journal at `path`.
    public init(path: String, listingCap: Int = 20_000) throws(JournalError) {
        let database = try SQLiteDatabase(path: path)
        try database.execute("PRAGMA journal_mode=WAL")
        try database.execute("PRAGMA synchronous=FULL")
        try database.execute(Self.schema)
        let version = try database.query("SELECT value FROM meta WHERE key = 'schema_version'").first?.first?.text
        if let version, version != String(Self.schemaVersion) {
            throw JournalError(
                message: "schema version \(version) is not the supported version \(Self.schemaVersion); use a new journal path",
                path: path)
        }
        try database.query("INSERT OR IGNORE INTO meta(key, value) VALUES ('schema_version', ?)", [.text(String(Self.schemaVersion))])
        // Journals written before failures recorded their cache lack the
        // column; their entries read as from an unknown cache.
        let columns = try database.query("PRAGMA table_info(failures)").compactMap { $0[1].text }
        if !columns.contains("cache") {
            try database.execute("ALTER TABLE failures ADD COLUMN cache TEXT")
        }
        // Likewise for the broker that broker batches were sent to.
        if !columns.contains("broker") {
            try database.execute("ALTER TABLE failures ADD COLUMN broker TEXT")
        }
        // And for the claims that keep two processes from sending the same outbox entry.
        let outboxColumns = try database.query("PRAGMA table_info(outbox)").compactMap { $0[1].text }
        if !outboxColumns.contains("claimed_by") {
            try database.execute("ALTER TABLE outbox ADD COLUMN claimed_by TEXT")
            try database.execute("ALTER TABLE outbox ADD COLUMN claimed_until REAL")
        }
        self.path = path
        self.listingCap = listingCap
        var initial = State(database: database)
        try Self.reload(&initial, cap: listingCap)
        state = Mutex(initial)
    }

    static let schema = """
        CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS failures(
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            batch TEXT NOT NULL,
            dispatcher TEXT NOT NULL,
            model TEXT NOT NULL,
            rule_fingerprints TEXT NOT NULL,
            error_kind TEXT NOT NULL,
            error_message TEXT NOT NULL,
            error_rule_id TEXT,
            attempts INTEGER NOT NULL,
            first_failed_at REAL NOT NULL,
            last_failed_at REAL NOT NULL,
            status TEXT NOT NULL,
            resolved_at REAL,
            resolution TEXT,
            replay_count INTEGER NOT NULL DEFAULT 0,
            dead_lettered INTEGER NOT NULL DEFAULT 0,
            payload BLOB,
            cache TEXT,
            broker TEXT);
        CREATE INDEX IF NOT EXISTS failures_status ON failures(status, id);
        CREATE TABLE IF NOT EXISTS replays(
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            failure_id INTEGER NOT NULL REFERENCES failures(id),
            at REAL NOT NULL,
            dispatcher TEXT NOT NULL,
            outcome TEXT NOT NULL,
            error TEXT,
            forced INTEGER NOT NULL DEFAULT 0);
        CREATE TABLE IF NOT EXISTS outbox(
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            batch TEXT NOT NULL,
            payload BLOB,
            created_at REAL NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            last_error TEXT,
            claimed_by TEXT,
            claimed_until REAL);
        """

    // MARK: - Writing

    /// Journals a failed batch and returns its journal id.
    /// - Parameters:
    ///   - cache: the label of the cache store the batch ran against
    ///     (``CacheStore/label``), so a replay can tell when it would run
    ///     against another one.
    ///   - broker: for a batch of a broker dispatcher, the label of the
    ///     broker it was sent to, so a replay can tell when it would send it
    ///     to another one.
    @discardableResult
    public func record(
        _ batch: Batch, error: BatchError, attempts: Int, status: FailureStatus = .open,
        ruleFingerprints: [String: String], at time: Double, deadLettered: Bool = false, cache: String? = nil,
        broker: String? = nil
    ) throws(JournalError) -> Int64 {
        let fingerprints = JSONObject(ruleFingerprints.sorted { $0.key < $1.key }.map { ($0.key, JSONValue.string($0.value)) })
        return try state.withLock { state throws(JournalError) -> Int64 in
            try state.database.query(
                """
                INSERT INTO failures(batch, dispatcher, model, rule_fingerprints, error_kind, error_message, error_rule_id,
                    attempts, first_failed_at, last_failed_at, status, dead_lettered, payload, cache, broker)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
                [
                    .text(JSONWriter.string(.object(BatchCoding.encode(batch)))), .text(batch.dispatcher),
                    .text(batch.model), .text(JSONWriter.string(.object(fingerprints))), .text(error.kind.rawValue),
                    .text(error.message), error.ruleID.map { .text($0) } ?? .null, .integer(Int64(attempts)),
                    .real(time), .real(time), .text(status.rawValue), .integer(deadLettered ? 1 : 0),
                    batch.payload.map { .blob($0) } ?? .null, cache.map { .text($0) } ?? .null,
                    broker.map { .text($0) } ?? .null,
                ])
            let id = state.database.lastInsertID
            let summary = FailureSummary(
                id: id, batchID: batch.id, dispatcher: batch.dispatcher, model: batch.model, pk: batch.pk,
                ruleIDs: batch.ruleIDs, error: error.description, errorKind: error.kind, attempts: attempts,
                lastFailedAt: time, status: status, deadLettered: deadLettered)
            state.rows.append(summary)
            if state.rows.count > listingCap { state.rows.removeFirst(state.rows.count - listingCap) }
            state.total += 1
            if status != .resolved { state.open += 1 }
            return id
        }
    }

    /// Records another failed attempt of a journalled batch. An unknown id changes nothing.
    public func recordAttempt(
        _ id: Int64, error: BatchError, attempts: Int, status: FailureStatus, at time: Double, deadLettered: Bool = false
    ) throws(JournalError) {
        try state.withLock { state throws(JournalError) in
            // The open count follows the stored status: the entry may be older
            // than the newest rows kept in memory.
            let rows = try state.database.query("SELECT status FROM failures WHERE id = ?", [.integer(id)])
            guard let stored = rows.first?.first?.text else { return }
            let wasOpen = stored != FailureStatus.resolved.rawValue
            try state.database.query(
                """
                UPDATE failures SET error_kind = ?, error_message = ?, error_rule_id = ?, attempts = ?,
                    last_failed_at = ?, status = ?, dead_lettered = MAX(dead_lettered, ?) WHERE id = ?
                """,
                [
                    .text(error.kind.rawValue), .text(error.message), error.ruleID.map { .text($0) } ?? .null,
                    .integer(Int64(attempts)), .real(time), .text(status.rawValue), .integer(deadLettered ? 1 : 0),
                    .integer(id),
                ])
            let isOpen = status != .resolved
            if isOpen != wasOpen { state.open += isOpen ? 1 : -1 }
            Self.updateRow(&state, id) { row in
                row.error = error.description
                row.errorKind = error.kind
                row.attempts = attempts
                row.lastFailedAt = time
                row.status = status
                row.deadLettered = row.deadLettered || deadLettered
            }
        }
    }

    /// Marks an entry resolved; `resolution` says how (`retry`, `replay`, ...).
    public func markResolved(_ id: Int64, resolution: String, at time: Double) throws(JournalError) {
        try state.withLock { state throws(JournalError) in
            let rows = try state.database.query("SELECT status FROM failures WHERE id = ?", [.integer(id)])
            guard let status = rows.first?.first?.text, status != FailureStatus.resolved.rawValue else { return }
            try state.database.query(
                "UPDATE failures SET status = 'resolved', resolved_at = ?, resolution = ? WHERE id = ?",
                [.real(time), .text(resolution), .integer(id)])
            state.open -= 1
            Self.updateRow(&state, id) { $0.status = .resolved }
        }
    }

    /// Records one replay attempt of an entry and its outcome.
    public func recordReplay(
        _ id: Int64, dispatcher: String, outcome: String, error: String?, forced: Bool, at time: Double
    ) throws(JournalError) {
        try state.withLock { state throws(JournalError) in
            try state.database.query(
                "INSERT INTO replays(failure_id, at, dispatcher, outcome, error, forced) VALUES (?, ?, ?, ?, ?, ?)",
                [.integer(id), .real(time), .text(dispatcher), .text(outcome), error.map { .text($0) } ?? .null, .integer(forced ? 1 : 0)])
            try state.database.query("UPDATE failures SET replay_count = replay_count + 1 WHERE id = ?", [.integer(id)])
            Self.updateRow(&state, id) { $0.replayCount += 1 }
        }
    }

    // MARK: - Reading

    public func entry(_ id: Int64) throws(JournalError) -> FailureRecord? {
        try state.withLock { state throws(JournalError) in
            try state.database.query("\(Self.selectColumns) WHERE id = ?", [.integer(id)]).first.map(Self.decodeRecord)
        }
    }

    /// Entries matching `filter`, oldest first, at most `limit`.
    public func entries(_ filter: FailureFilter, after id: Int64 = 0, limit: Int = 1000) throws(JournalError) -> [FailureRecord] {
        var clauses = ["id > ?"]
        var parameters: [SQLiteDatabase.Value] = [.integer(id)]
        if let ids = filter.ids {
            clauses.append("id IN (\(ids.map { _ in "?" }.joined(separator: ",")))")
            parameters += ids.map { .integer($0) }
        }
        if let dispatcher = filter.dispatcher {
            clauses.append("dispatcher = ?")
            parameters.append(.text(dispatcher))
        }
        if let model = filter.model {
            clauses.append("model = ?")
            parameters.append(.text(model))
        }
        if !filter.statuses.isEmpty {
            clauses.append("status IN (\(filter.statuses.map { _ in "?" }.joined(separator: ",")))")
            parameters += filter.statuses.map { .text($0.rawValue) }
        }
        let sql = "\(Self.selectColumns) WHERE \(clauses.joined(separator: " AND ")) ORDER BY id LIMIT \(limit)"
        return try state.withLock { state throws(JournalError) in
            try state.database.query(sql, parameters).map(Self.decodeRecord)
        }
    }

    /// Counts and the newest summaries, for the console.
    public func listing() -> FailureListing {
        state.withLock { FailureListing(total: $0.total, open: $0.open, rows: $0.rows) }
    }

    /// The replays of one entry, oldest first: time, dispatcher, outcome, error.
    public func replays(of id: Int64) throws(JournalError) -> [(at: Double, dispatcher: String, outcome: String, error: String?)] {
        try state.withLock { state throws(JournalError) in
            try state.database.query(
                "SELECT at, dispatcher, outcome, error FROM replays WHERE failure_id = ? ORDER BY id", [.integer(id)]
            ).map { row in (row[0].real ?? 0, row[1].text ?? "", row[2].text ?? "", row[3].text) }
        }
    }

    // MARK: - Outbox

    /// Stores a dispatch that could not reach its broker, to send later.
    @discardableResult
    public func addToOutbox(_ batch: Batch, error: String, at time: Double) throws(JournalError) -> Int64 {
        try state.withLock { state throws(JournalError) -> Int64 in
            try state.database.query(
                "INSERT INTO outbox(batch, payload, created_at, attempts, last_error) VALUES (?, ?, ?, 1, ?)",
                [.text(JSONWriter.string(.object(BatchCoding.encode(batch)))), batch.payload.map { .blob($0) } ?? .null, .real(time), .text(error)])
            return state.database.lastInsertID
        }
    }

    /// The oldest outbox entries, with their ids.
    public func outboxEntries(limit: Int) throws(JournalError) -> [(id: Int64, batch: Batch)] {
        try state.withLock { state throws(JournalError) in
            try state.database.query("SELECT id, batch, payload FROM outbox ORDER BY id LIMIT ?", [.integer(Int64(limit))])
                .compactMap(Self.decodeOutboxRow)
        }
    }

    /// Claims up to `limit` of the oldest outbox entries for `owner` until
    /// `until` (seconds since the Unix epoch), and returns them.
    ///
    /// An entry is free when it has no claim, its claim ran out, or
    /// `owner` claimed it before. Claiming is one statement, so two
    /// processes draining the same journal never get the same entry and
    /// never send it twice. The claim outlives a process that dies while
    /// sending, and once it runs out another process sends the entry, so
    /// each entry is still sent at least once.
    public func claimOutboxEntries(
        limit: Int, owner: String, until: Double, now: Double
    ) throws(JournalError) -> [(id: Int64, batch: Batch)] {
        try state.withLock { state throws(JournalError) in
            try state.database.query(
                """
                UPDATE outbox SET claimed_by = ?1, claimed_until = ?2
                WHERE id IN (SELECT id FROM outbox WHERE claimed_until IS NULL OR claimed_until < ?3 OR claimed_by = ?1
                             ORDER BY id LIMIT ?4)
                RETURNING id, batch, payload
                """,
                [.text(owner), .real(until), .real(now), .integer(Int64(limit))]
            )
            .compactMap(Self.decodeOutboxRow)
            .sorted { $0.id < $1.id }
        }
    }

    /// Returns how many outbox entries hold a claim that runs past `now`,
    /// and when the last of those claims runs out.
    public func outboxClaims(now: Double) throws(JournalError) -> (count: Int, lastUntil: Double?) {
        try state.withLock { state throws(JournalError) in
            let row = try state.database.query(
                "SELECT COUNT(*), MAX(claimed_until) FROM outbox WHERE claimed_until >= ?", [.real(now)]
            ).first
            return (Int(row?[0].integer ?? 0), row?[1].real)
        }
    }

    /// Gives up `owner`'s claims on the entries still in the outbox, so the next pass of any process can send them.
    public func releaseOutboxClaims(owner: String) throws(JournalError) {
        try state.withLock { state throws(JournalError) in
            _ = try state.database.query(
                "UPDATE outbox SET claimed_by = NULL, claimed_until = NULL WHERE claimed_by = ?", [.text(owner)])
        }
    }

    private static func decodeOutboxRow(_ row: [SQLiteDatabase.Value]) -> (id: Int64, batch: Batch)? {
        guard let id = row[0].integer, let text = row[1].text, let object = try? JSONParser.parse(text).objectValue,
            case .success(var batch) = BatchCoding.decode(object)
        else { return nil }
        batch.payload = row[2].blob
        return (id, batch)
    }

    public func removeFromOutbox(_ id: Int64) throws(JournalError) {
        try state.withLock { state throws(JournalError) in
            _ = try state.database.query("DELETE FROM outbox WHERE id = ?", [.integer(id)])
        }
    }

    /// Moves everything in the write-ahead log into the database file and
    /// empties the log, so the file alone holds every entry (for copying it
    /// elsewhere). Call at shutdown; the journal stays usable after it.
    public func checkpoint() throws(JournalError) {
        try state.withLock { state throws(JournalError) in
            try state.database.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        }
    }

    /// Returns the ids of the journal entries that batches waiting in the outbox replay.
    public func outboxReplays() throws(JournalError) -> Set<Int64> {
        try state.withLock { state throws(JournalError) in
            let rows = try state.database.query(
                "SELECT json_extract(batch, '$.replay_of') FROM outbox WHERE json_extract(batch, '$.replay_of') IS NOT NULL")
            return Set(rows.compactMap { $0.first?.integer })
        }
    }

    public func outboxCount() -> Int {
        state.withLock { state in
            Int((try? state.database.query("SELECT COUNT(*) FROM outbox").first?.first?.integer) ?? 0)
        }
    }

    // MARK: - Rows

    private static let selectColumns = """
        SELECT id, batch, rule_fingerprints, error_kind, error_message, error_rule_id, attempts, first_failed_at,
            last_failed_at, status, resolved_at, resolution, replay_count, dead_lettered, payload, cache, broker FROM failures
        """

    private static func decodeRecord(_ row: [SQLiteDatabase.Value]) -> FailureRecord {
        let batchObject = row[1].text.flatMap { try? JSONParser.parse($0).objectValue } ?? JSONObject()
        var batch: Batch
        switch BatchCoding.decode(batchObject) {
        case .success(let decoded): batch = decoded
        case .failure:
            batch = Batch(
                id: 0, dispatcher: "?", batchKey: "?", model: "?", pk: .null, signal: .postSave, ruleIDs: [],
                restflowRuleIDs: [], ruleKwargs: JSONObject(), createdAt: 0)
        }
        batch.payload = row[14].blob
        var fingerprints: [String: String] = [:]
        for member in row[2].text.flatMap({ try? JSONParser.parse($0).objectValue }) ?? JSONObject() {
            fingerprints[member.key] = member.value.stringValue
        }
        return FailureRecord(
            id: row[0].integer ?? 0, batch: batch, ruleFingerprints: fingerprints,
            error: BatchError(
                kind: row[3].text.flatMap(BatchError.Kind.init(rawValue:)) ?? .worker, message: row[4].text ?? "",
                ruleID: row[5].text),
            attempts: Int(row[6].integer ?? 1), firstFailedAt: row[7].real ?? 0, lastFailedAt: row[8].real ?? 0,
            status: row[9].text.flatMap(FailureStatus.init(rawValue:)) ?? .open, resolvedAt: row[10].real,
            resolution: row[11].text, replayCount: Int(row[12].integer ?? 0), deadLettered: (row[13].integer ?? 0) != 0,
            cache: row[15].text, broker: row[16].text)
    }

    private static func reload(_ state: inout State, cap: Int) throws(JournalError) {
        let counts = try state.database.query(
            "SELECT COUNT(*), COALESCE(SUM(CASE WHEN status != 'resolved' THEN 1 ELSE 0 END), 0) FROM failures")
        state.total = Int(counts.first?[0].integer ?? 0)
        state.open = Int(counts.first?[1].integer ?? 0)
        let rows = try state.database.query("\(selectColumns) ORDER BY id DESC LIMIT \(cap)")
        state.rows = rows.reversed().map { FailureSummary(decodeRecord($0)) }
    }

    private static func updateRow(_ state: inout State, _ id: Int64, _ body: (inout FailureSummary) -> Void) {
        var low = 0
        var high = state.rows.count - 1
        while low <= high {
            let middle = (low + high) / 2
            if state.rows[middle].id == id {
                body(&state.rows[middle])
                return
            }
            if state.rows[middle].id < id { low = middle + 1 } else { high = middle - 1 }
        }
    }
}
