import Dispatch
import Foundation
import TestSupport
import Testing

@testable import Engine

@Suite struct FailureJournalTests {
    static func batch(_ id: UInt64, dispatcher: String = "threadpool", model: String = "shop.Product") -> Batch {
        Batch(
            id: id, dispatcher: dispatcher, batchKey: "\(dispatcher)|max_workers=2", model: model, pk: .int(Int64(id)),
            signal: .postSave, eventIndex: Int(id) + 100, ruleIDs: ["f#1", "g#2"], restflowRuleIDs: [1, 2],
            ruleKwargs: JSONObject([("f#1", .object(JSONObject([("z", 1), ("a", 2.0)]))), ("g#2", .object(JSONObject()))]),
            options: JSONObject([("max_workers", 2)]), raiseException: true, createdAt: 1_700_000_000.25, attempt: 1,
            payload: [0, 1, 2, 255])
    }

    static let cacheFailure = BatchError(kind: .cache, message: "store timed out", ruleID: "f#1")
    static let brokerFailure = BatchError(kind: .broker, message: "connection refused")

    @discardableResult
    static func record(_ journal: FailureJournal, _ id: UInt64, dispatcher: String = "threadpool", model: String = "shop.Product")
        throws -> Int64
    {
        try journal.record(
            batch(id, dispatcher: dispatcher, model: model), error: cacheFailure, attempts: 1,
            ruleFingerprints: ["f#1": "aaaa", "g#2": "bbbb"], at: 2000 + Double(id))
    }

    // MARK: - Record and read

    @Test func recordedEntryReadsBackWhole() throws {
        let temporary = try TemporaryJournal()
        defer { temporary.directory.remove() }
        let id = try Self.record(temporary.journal, 7)
        let entry = try #require(try temporary.journal.entry(id))
        #expect(entry.id == id)
        #expect(entry.batch == Self.batch(7))
        #expect(entry.batch.ruleKwargs["f#1"]?.objectValue?.keys == ["z", "a"])
        #expect(entry.ruleFingerprints == ["f#1": "aaaa", "g#2": "bbbb"])
        #expect(entry.error == Self.cacheFailure)
        #expect(entry.attempts == 1)
        #expect(entry.firstFailedAt == 2007)
        #expect(entry.lastFailedAt == 2007)
        #expect(entry.status == .open)
        #expect(entry.resolvedAt == nil)
        #expect(entry.resolution == nil)
        #expect(entry.replayCount == 0)
        #expect(!entry.deadLettered)
    }

    @Test func idsIncrease() throws {
        let temporary = try TemporaryJournal()
        defer { temporary.directory.remove() }
        let ids = try (1...5).map { try Self.record(temporary.journal, UInt64($0)) }
        #expect(ids == ids.sorted())
        #expect(Set(ids).count == 5)
    }

    @Test func missingEntryIsNil() throws {
        let temporary = try TemporaryJournal()
        defer { temporary.directory.remove() }
        #expect(try temporary.journal.entry(99) == nil)
    }

    @Test func retryingStatusIsNotCountedAsResolved() throws {
        let temporary = try TemporaryJournal()
        defer { temporary.directory.remove() }
        try temporary.journal.record(
            Self.batch(1), error: Self.brokerFailure, attempts: 2, status: .retrying, ruleFingerprints: [:], at: 10,
            deadLettered: true)
        let listing = temporary.journal.listing()
        #expect(listing.open == 1)
        #expect(listing.rows.first?.status == .retrying)
        #expect(listing.rows.first?.deadLettered == true)
        #expect(listing.rows.first?.attempts == 2)
    }

    // MARK: - Attempts, resolution, replays

    @Test func recordAttemptUpdatesTheEntry() throws {
        let temporary = try TemporaryJournal()
        defer { temporary.directory.remove() }
        let id = try Self.record(temporary.journal, 1)
        try temporary.journal.recordAttempt(id, error: Self.brokerFailure, attempts: 3, status: .retrying, at: 3000)
        let entry = try #require(try temporary.journal.entry(id))
        #expect(entry.error == Self.brokerFailure)
        #expect(entry.attempts == 3)
        #expect(entry.status == .retrying)
        #expect(entry.firstFailedAt == 2001)
        #expect(entry.lastFailedAt == 3000)
        let row = temporary.journal.listing().rows.first
        #expect(row?.attempts == 3)
        #expect(row?.error == "connection refused")
        #expect(row?.errorKind == .broker)
    }

    @Test func deadLetteringSticks() throws {
        let temporary = try TemporaryJournal()
        defer { temporary.directory.remove() }
        let id = try Self.record(temporary.journal, 1)
        try temporary.journal.recordAttempt(id, error: Self.brokerFailure, attempts: 2, status: .open, at: 1, deadLettered: true)
        try temporary.journal.recordAttempt(id, error: Self.brokerFailure, attempts: 3, status: .open, at: 2, deadLettered: false)
        #expect(try temporary.journal.entry(id)?.deadLettered == true)
        #expect(temporary.journal.listing().rows.first?.deadLettered == true)
    }

    @Test func markResolvedKeepsTheEntry() throws {
        let temporary = try TemporaryJournal()
        defer { temporary.directory.remove() }
        let id = try Self.record(temporary.journal, 1)
        try Self.record(temporary.journal, 2)
        try temporary.journal.markResolved(id, resolution: "replay", at: 4000)
        let entry = try #require(try temporary.journal.entry(id))
        #expect(entry.status == .resolved)
        #expect(entry.resolvedAt == 4000)
        #expect(entry.resolution == "replay")
        let listing = temporary.journal.listing()
        #expect(listing.total == 2)
        #expect(listing.open == 1)
        #expect(listing.rows.map(\.status) == [.resolved, .open])
    }

    @Test func markResolvedTwiceCountsOnce() throws {
        let temporary = try TemporaryJournal()
        defer { temporary.directory.remove() }
        let id = try Self.record(temporary.journal, 1)
        try Self.record(temporary.journal, 2)
        try temporary.journal.markResolved(id, resolution: "retry", at: 1)
        try temporary.journal.markResolved(id, resolution: "replay", at: 2)
        #expect(temporary.journal.listing().open == 1)
        #expect(try temporary.journal.entry(id)?.resolution == "retry")
    }

    @Test func markResolvedOfAMissingEntryChangesNothing() throws {
        let temporary = try TemporaryJournal()
        defer { temporary.directory.remove() }
        try Self.record(temporary.journal, 1)
        try temporary.journal.markResolved(42, resolution: "replay", at: 1)
        #expect(temporary.journal.listing().open == 1)
    }

    @Test func recordAttemptReopensAResolvedEntry() throws {
        let temporary = try TemporaryJournal()
        defer { temporary.directory.remove() }
        let id = try Self.record(temporary.journal, 1)
        try temporary.journal.markResolved(id, resolution: "replay", at: 1)
        try temporary.journal.recordAttempt(id, error: Self.cacheFailure, attempts: 2, status: .open, at: 2)
        #expect(temporary.journal.listing().open == 1)
        #expect(try temporary.journal.entry(id)?.status == .open)
    }

    @Test func recordAttemptResolvingAnEntryLowersOpen() throws {
        let temporary = try TemporaryJournal()
        defer { temporary.directory.remove() }
        let id = try Self.record(temporary.journal, 1)
        try temporary.journal.recordAttempt(id, error: Self.cacheFailure, attempts: 2, status: .resolved, at: 2)
        #expect(temporary.journal.listing().open == 0)
    }

    /// The open count must follow the database, also for entries that are
    /// no longer among the newest rows kept in memory.
    @Test func openCountIsRightForEntriesOutsideTheListing() throws {
        let temporary = try TemporaryJournal(listingCap: 2)
        defer { temporary.directory.remove() }
        let oldest = try Self.record(temporary.journal, 1)
        try Self.record(temporary.journal, 2)
        try Self.record(temporary.journal, 3)
        #expect(temporary.journal.listing().rows.map(\.batchID) == [2, 3])

        try temporary.journal.markResolved(oldest, resolution: "replay", at: 1)
        #expect(temporary.journal.listing().open == 2)
        try temporary.journal.recordAttempt(oldest, error: Self.cacheFailure, attempts: 2, status: .open, at: 2)
        #expect(temporary.journal.listing().open == 3)
        try temporary.journal.recordAttempt(oldest, error: Self.cacheFailure, attempts: 3, status: .resolved, at: 3)
        #expect(temporary.journal.listing().open == 2)
        try temporary.journal.recordAttempt(oldest, error: Self.cacheFailure, attempts: 4, status: .retrying, at: 4)
        #expect(temporary.journal.listing().open == 3)
    }

    @Test func openCountMatchesTheDatabaseAfterReopening() throws {
        let temporary = try TemporaryJournal(listingCap: 1)
        defer { temporary.directory.remove() }
        let oldest = try Self.record(temporary.journal, 1)
        try Self.record(temporary.journal, 2)
        try temporary.journal.markResolved(oldest, resolution: "replay", at: 1)
        try temporary.journal.recordAttempt(oldest, error: Self.cacheFailure, attempts: 2, status: .open, at: 2)
        let reopened = try FailureJournal(path: temporary.path, listingCap: 1)
        #expect(reopened.listing().open == temporary.journal.listing().open)
    }

    @Test func recordReplayListsEachAttempt() throws {
        let temporary = try TemporaryJournal()
        defer { temporary.directory.remove() }
        let id = try Self.record(temporary.journal, 1)
        try temporary.journal.recordReplay(id, dispatcher: "threadpool", outcome: "failed", error: "still down", forced: false, at: 10)
        try temporary.journal.recordReplay(id, dispatcher: "inline", outcome: "done", error: nil, forced: true, at: 11)
        let replays = try temporary.journal.replays(of: id)
        #expect(replays.map(\.at) == [10, 11])
        #expect(replays.map(\.dispatcher) == ["threadpool", "inline"])
        #expect(replays.map(\.outcome) == ["failed", "done"])
        #expect(replays.map(\.error) == ["still down", nil])
        #expect(try temporary.journal.entry(id)?.replayCount == 2)
        #expect(temporary.journal.listing().rows.first?.replayCount == 2)
    }

    // MARK: - Filters and listing

    @Test func entriesFilterByEveryField() throws {
        let temporary = try TemporaryJournal()
        defer { temporary.directory.remove() }
        let journal = temporary.journal
        let first = try Self.record(journal, 1, dispatcher: "threadpool", model: "shop.Product")
        let second = try Self.record(journal, 2, dispatcher: "inline", model: "shop.Product")
        let third = try Self.record(journal, 3, dispatcher: "threadpool", model: "shop.Order")
        try journal.markResolved(second, resolution: "replay", at: 1)

        #expect(try journal.entries(FailureFilter()).map(\.id) == [first, third])
        #expect(try journal.entries(FailureFilter(statuses: [])).map(\.id) == [first, second, third])
        #expect(try journal.entries(FailureFilter(statuses: [.resolved])).map(\.id) == [second])
        #expect(try journal.entries(FailureFilter(dispatcher: "threadpool")).map(\.id) == [first, third])
        #expect(try journal.entries(FailureFilter(model: "shop.Order")).map(\.id) == [third])
        #expect(try journal.entries(FailureFilter(ids: [first, second], statuses: [])).map(\.id) == [first, second])
        #expect(try journal.entries(FailureFilter(ids: [])).isEmpty)
        #expect(try journal.entries(FailureFilter(statuses: []), after: first).map(\.id) == [second, third])
        #expect(try journal.entries(FailureFilter(statuses: []), limit: 2).map(\.id) == [first, second])
    }

    @Test func listingKeepsTheNewestRowsInIDOrder() throws {
        let temporary = try TemporaryJournal(listingCap: 3)
        defer { temporary.directory.remove() }
        for id in UInt64(1)...5 {
            try Self.record(temporary.journal, id)
        }
        let listing = temporary.journal.listing()
        #expect(listing.total == 5)
        #expect(listing.open == 5)
        #expect(listing.rows.map(\.batchID) == [3, 4, 5])
        #expect(listing.rows.map(\.id) == listing.rows.map(\.id).sorted())
    }

    @Test func listingSummaryCarriesTheBatch() throws {
        let temporary = try TemporaryJournal()
        defer { temporary.directory.remove() }
        try Self.record(temporary.journal, 9)
        let row = try #require(temporary.journal.listing().rows.first)
        #expect(row.batchID == 9)
        #expect(row.dispatcher == "threadpool")
        #expect(row.model == "shop.Product")
        #expect(row.pk == .int(9))
        #expect(row.ruleIDs == ["f#1", "g#2"])
        #expect(row.error == "store timed out (rule f#1)")
        #expect(row.errorKind == .cache)
        #expect(row.lastFailedAt == 2009)
    }

    // MARK: - Outbox

    @Test func outboxAddListRemove() throws {
        let temporary = try TemporaryJournal()
        defer { temporary.directory.remove() }
        let journal = temporary.journal
        let first = try journal.addToOutbox(Self.batch(1), error: "connection refused", at: 5)
        let second = try journal.addToOutbox(Self.batch(2), error: "connection refused", at: 6)
        #expect(journal.outboxCount() == 2)

        let entries = try journal.outboxEntries(limit: 10)
        #expect(entries.map(\.id) == [first, second])
        #expect(entries.map(\.batch) == [Self.batch(1), Self.batch(2)])
        #expect(entries.first?.batch.payload == [0, 1, 2, 255])
        #expect(try journal.outboxEntries(limit: 1).map(\.id) == [first])

        try journal.removeFromOutbox(first)
        #expect(journal.outboxCount() == 1)
        #expect(try journal.outboxEntries(limit: 10).map(\.id) == [second])
        #expect(journal.listing().total == 0)
    }

    @Test func outboxKeepsABatchWithoutPayload() throws {
        let temporary = try TemporaryJournal()
        defer { temporary.directory.remove() }
        var batch = Self.batch(1)
        batch.payload = nil
        try temporary.journal.addToOutbox(batch, error: "down", at: 1)
        #expect(try temporary.journal.outboxEntries(limit: 1).first?.batch.payload == nil)
    }

    @Test func outboxClaimsKeepDrainersApart() throws {
        let temporary = try TemporaryJournal()
        defer { temporary.directory.remove() }
        let journal = temporary.journal
        let ids = try (1...3).map { try journal.addToOutbox(Self.batch(UInt64($0)), error: "down", at: 5) }

        let first = try journal.claimOutboxEntries(limit: 2, owner: "a", until: 100, now: 10)
        let second = try journal.claimOutboxEntries(limit: 10, owner: "b", until: 100, now: 10)
        #expect(first.map(\.id) == Array(ids[0..<2]))
        #expect(first.map(\.batch) == [Self.batch(1), Self.batch(2)])
        #expect(second.map(\.id) == [ids[2]])
        let claims = try journal.outboxClaims(now: 50)
        #expect(claims.count == 3)
        #expect(claims.lastUntil == 100)
        // Its owner can claim an entry again, and another owner only once the claim runs out.
        #expect(try journal.claimOutboxEntries(limit: 10, owner: "a", until: 100, now: 20).map(\.id) == Array(ids[0..<2]))
        #expect(try journal.claimOutboxEntries(limit: 10, owner: "c", until: 300, now: 99).isEmpty)
        #expect(try journal.claimOutboxEntries(limit: 10, owner: "c", until: 300, now: 101).map(\.id) == ids)

        try journal.releaseOutboxClaims(owner: "c")
        try journal.removeFromOutbox(ids[0])
        #expect(try journal.claimOutboxEntries(limit: 10, owner: "d", until: 400, now: 102).map(\.id) == Array(ids[1...]))
        #expect(journal.outboxCount() == 2)
    }

    @Test func outboxWithoutClaimColumnsGainsThem() throws {
        let directory = try TemporaryDirectory(prefix: "old-outbox")
        defer { directory.remove() }
        let path = directory.file("journal.sqlite3")
        do {
            // The outbox table as journals had it before claims.
            let database = try SQLiteDatabase(path: path)
            let oldSchema = FailureJournal.schema.replacingOccurrences(
                of: #",\s*claimed_by TEXT,\s*claimed_until REAL"#, with: "", options: .regularExpression)
            try database.execute(oldSchema)
            try database.query("INSERT INTO meta(key, value) VALUES ('schema_version', ?)", [.text(String(FailureJournal.schemaVersion))])
            try database.query(
                "INSERT INTO outbox(batch, payload, created_at, attempts, last_error) VALUES (?, NULL, 1, 1, 'down')",
                [.text(JSONWriter.string(.object(BatchCoding.encode(Self.batch(7)))))])
            let columns = try database.query("PRAGMA table_info(outbox)").compactMap { $0[1].text }
            #expect(!columns.contains("claimed_by"))
        }
        let journal = try FailureJournal(path: path)
        let claimed = try journal.claimOutboxEntries(limit: 10, owner: "a", until: 100, now: 10)
        #expect(claimed.map(\.batch.id) == [7])
    }

    // MARK: - Durability

    @Test func reopeningKeepsEverything() throws {
        let temporary = try TemporaryJournal()
        defer { temporary.directory.remove() }
        let path = temporary.path
        var ids: [Int64] = []
        do {
            let journal = try FailureJournal(path: path)
            ids = try (1...3).map { try Self.record(journal, UInt64($0)) }
            try journal.markResolved(ids[0], resolution: "replay", at: 50)
            try journal.recordReplay(ids[0], dispatcher: "inline", outcome: "done", error: nil, forced: false, at: 50)
            try journal.recordAttempt(ids[1], error: Self.brokerFailure, attempts: 2, status: .retrying, at: 60)
            try journal.addToOutbox(Self.batch(4), error: "down", at: 70)
        }
        let reopened = try FailureJournal(path: path)
        let listing = reopened.listing()
        #expect(listing.total == 3)
        #expect(listing.open == 2)
        #expect(listing.rows.map(\.id) == ids)
        #expect(listing.rows.map(\.status) == [.resolved, .retrying, .open])
        #expect(try reopened.entry(ids[0])?.resolution == "replay")
        #expect(try reopened.entry(ids[1])?.attempts == 2)
        #expect(try reopened.entry(ids[2])?.batch == Self.batch(3))
        #expect(try reopened.replays(of: ids[0]).count == 1)
        #expect(reopened.outboxCount() == 1)
        let next = try Self.record(reopened, 5)
        #expect(next > ids[2])
    }

    @Test func journalUsesWriteAheadLogging() throws {
        let temporary = try TemporaryJournal()
        defer { temporary.directory.remove() }
        try Self.record(temporary.journal, 1)
        let connection = try SQLiteDatabase(path: temporary.path)
        let mode = try connection.query("PRAGMA journal_mode").first?.first?.text
        #expect(mode == "wal")
        #expect(FileManager.default.fileExists(atPath: temporary.path + "-wal"))
    }

    @Test func otherSchemaVersionIsRejected() throws {
        let temporary = try TemporaryJournal()
        defer { temporary.directory.remove() }
        let connection = try SQLiteDatabase(path: temporary.path)
        try connection.query("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
        let error = #expect(throws: JournalError.self) { try FailureJournal(path: temporary.path) }
        #expect(error?.message == "schema version 2 is not the supported version 1; use a new journal path")
        #expect(error?.path == temporary.path)
    }

    @Test func unopenablePathIsAJournalError() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let error = #expect(throws: JournalError.self) { try FailureJournal(path: directory.path) }
        #expect(error?.description.hasPrefix("failure journal '\(directory.path)': ") == true)
    }

    @Test func concurrentRecordsAllLand() throws {
        let temporary = try TemporaryJournal()
        defer { temporary.directory.remove() }
        let journal = temporary.journal
        DispatchQueue.concurrentPerform(iterations: 8) { worker in
            for index in 0..<25 {
                _ = try? Self.record(journal, UInt64(worker * 100 + index))
            }
        }
        #expect(journal.listing().total == 200)
        #expect(try journal.entries(FailureFilter(), limit: 1000).count == 200)
        #expect(Set(journal.listing().rows.map(\.batchID)).count == 200)
    }
}

extension FailureJournalTests {
    @Test func checkpointLeavesEveryEntryInTheFile() throws {
        let directory = try TemporaryDirectory(prefix: "journal-checkpoint")
        defer { directory.remove() }
        let path = directory.file("journal.sqlite3")
        let journal = try FailureJournal(path: path)
        for index in 0..<50 {
            try journal.record(
                Self.batch(UInt64(index + 1)), error: BatchError(kind: .cache, message: "down"), attempts: 1,
                ruleFingerprints: [:], at: 1_000)
        }

        try journal.checkpoint()
        let copy = directory.file("copy.sqlite3")
        try FileManager.default.copyItem(atPath: path, toPath: copy)

        let reopened = try FailureJournal(path: copy)
        #expect(reopened.listing().total == 50)
        let walSize = (try? FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as? Int) ?? 0
        #expect(walSize == 0)
    }
}
