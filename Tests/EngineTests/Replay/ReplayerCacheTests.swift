import Foundation
import TestSupport
import Testing

@testable import Engine

/// A failure records the cache store it ran against, and a replay against
/// another store skips it. Running there would drop nothing where the stale
/// entries are, yet mark the failure resolved.
@Suite struct ReplayerCacheTests {
    static let document = """
        {"functions": [{"name": "shop.views.search",
          "rules": [{"id": "search", "model": "shop.Product", "invalidator": "read_only"}]}]}
        """

    /// Returns a harness whose only rule fails, and the journal entry of its first failure.
    static func failedOnce(_ temporary: TemporaryJournal) throws -> (EngineHarness, FailureRecord) {
        let invalidators = InvalidatorRegistry.builtIn
        invalidators.register("read_only", FailingInvalidator())
        let harness = try EngineHarness(document, journal: temporary.journal, invalidators: invalidators)
        harness.engine.process(saveEvent(pk: 3))
        let entries = try temporary.journal.entries(FailureFilter())
        return (harness, try #require(entries.first))
    }

    /// Journals `entry`'s batch again as if it had failed against `cache`.
    static func copy(_ entry: FailureRecord, cache: String?, in journal: FailureJournal) throws -> Int64 {
        try journal.record(
            entry.batch, error: entry.error, attempts: 1, ruleFingerprints: entry.ruleFingerprints, at: 10, cache: cache)
    }

    @Test func failureRecordsItsCacheLabel() throws {
        let temporary = try TemporaryJournal()
        defer { temporary.directory.remove() }
        let (_, entry) = try Self.failedOnce(temporary)
        #expect(entry.cache == "memory")
    }

    @Test func entryFromAnotherCacheIsSkipped() throws {
        let temporary = try TemporaryJournal()
        defer { temporary.directory.remove() }
        let (harness, entry) = try Self.failedOnce(temporary)
        let remote = try Self.copy(entry, cache: "redis://127.0.0.1:6390/1", in: temporary.journal)

        let summary = Replayer(engine: harness.engine).replay(ids: [remote], options: ReplayOptions(ratePerSecond: nil))
        #expect(summary.items.map(\.outcome.label) == ["skipped"])
        let reason = try #require(summary.items.first?.outcome.detail)
        #expect(reason == """
            it failed against the cache redis://127.0.0.1:6390/1, and this replay uses memory; \
            replay with --cache set to that store (redis://127.0.0.1:6390/1, with its password if it has one)
            """)
        #expect(try temporary.journal.entry(remote)?.status == .open)
        #expect(try temporary.journal.entry(remote)?.replayCount == 0)
    }

    @Test func entryFromSameOrUnknownCacheRuns() throws {
        let temporary = try TemporaryJournal()
        defer { temporary.directory.remove() }
        let (harness, entry) = try Self.failedOnce(temporary)
        let unknown = try Self.copy(entry, cache: nil, in: temporary.journal)

        // The rule still fails, so a replay that ran reports "failed", not "skipped".
        let summary = Replayer(engine: harness.engine).replay(
            ids: [entry.id, unknown], options: ReplayOptions(ratePerSecond: nil, outcomeTimeout: 10))
        #expect(summary.items.map(\.outcome.label) == ["failed", "failed"])
    }

    @Test func memoryEntryNamesItsFix() {
        let reason = Replayer.otherCacheReason(recorded: "memory", current: "redis://127.0.0.1:6390/1")
        #expect(reason.hasPrefix(Replayer.otherCachePrefix))
        #expect(reason.hasSuffix("replay without --cache, with the embedded memory store it used"))
    }

    @Test func journalWithoutTheColumnsGainsThem() throws {
        let directory = try TemporaryDirectory(prefix: "old-journal")
        defer { directory.remove() }
        let path = directory.file("journal.sqlite3")
        do {
            // The failures table as journals had it before the cache and broker columns.
            let database = try SQLiteDatabase(path: path)
            let oldSchema = FailureJournal.schema.replacingOccurrences(
                of: #",\s*cache TEXT,\s*broker TEXT"#, with: "", options: .regularExpression)
            try database.execute(oldSchema)
            try database.query("INSERT INTO meta(key, value) VALUES ('schema_version', ?)", [.text(String(FailureJournal.schemaVersion))])
            let columns = try database.query("PRAGMA table_info(failures)").compactMap { $0[1].text }
            #expect(!columns.contains("cache"))
            #expect(!columns.contains("broker"))
        }
        let journal = try FailureJournal(path: path)
        let batch = Batch(
            id: 1, dispatcher: "celery", batchKey: "celery", model: "shop.Product", pk: 1, signal: .postSave,
            ruleIDs: ["search"], restflowRuleIDs: [1], ruleKwargs: JSONObject(), createdAt: 5)
        let id = try journal.record(
            batch, error: BatchError(kind: .broker, message: "down"), attempts: 1, ruleFingerprints: [:], at: 6, cache: "memory",
            broker: "redis://127.0.0.1:6390/0")
        #expect(try journal.entry(id)?.cache == "memory")
        #expect(try journal.entry(id)?.broker == "redis://127.0.0.1:6390/0")
    }
}
