import Testing

@testable import Engine

/// What the executor records for retries, replays, dead letters and
/// batches it never saw queued.
@Suite struct BatchExecutorTests {
    static let document = """
        {"functions": [{"name": "shop.views.detail", "key": {"partition": ["product_id"]},
          "rules": [{"id": "detail", "model": "shop.Product", "field_mapping": {"product_id": "id"},
                     "dispatcher": "recording"}]}]}
        """

    static func batch(_ engine: Engine, ruleIDs: [String] = ["detail"], replayOf: Int64? = nil) -> Batch {
        var kwargs = JSONObject()
        for id in ruleIDs {
            kwargs[id] = .object(object(("product_id", 7)))
        }
        return Batch(
            id: engine.makeBatchID(), dispatcher: "recording", batchKey: "recording", model: "shop.Product", pk: 7,
            signal: .postSave, ruleIDs: ruleIDs, restflowRuleIDs: [1], ruleKwargs: kwargs, createdAt: engine.executor.now,
            replayOf: replayOf)
    }

    static let alwaysFail = FaultSetting(failurePercent: 100, addedLatencyMilliseconds: 0)
    static let never = FaultSetting(failurePercent: 0, addedLatencyMilliseconds: 0)

    static func figures(_ engine: Engine) -> DispatcherSnapshot? {
        engine.snapshot().dispatchers.first { $0.name == "recording" }
    }

    @Test func batchNeverQueuedStillRecordsItsOutcome() throws {
        let harness = try EngineHarness(Self.document)
        let batch = Self.batch(harness.engine)
        let outcome = harness.engine.executor.run(batch)
        #expect(outcome == .done)
        #expect(harness.finished.all.map(\.batch.id) == [batch.id])
        #expect(Self.figures(harness.engine)?.done == 1)
        #expect(Self.figures(harness.engine)?.inFlight == 0)
        #expect(harness.engine.waitUntilIdle(timeout: 0))
    }

    @Test func retriedBatchThatSucceedsResolvesItsEntry() throws {
        let temporary = try TemporaryJournal()
        defer { temporary.directory.remove() }
        let harness = try EngineHarness(Self.document, journal: temporary.journal)
        let executor = harness.engine.executor
        var batch = Self.batch(harness.engine)
        executor.queued(batch)

        harness.engine.faults.set(Self.alwaysFail, for: "recording")
        #expect(executor.run(batch, willRetryOnFailure: true).error?.kind == .fault)
        let entry = try #require(try temporary.journal.entries(FailureFilter(statuses: [])).first)
        #expect(entry.status == .retrying)
        #expect(Self.figures(harness.engine)?.inFlight == 1)
        #expect(Self.figures(harness.engine)?.retried == 1)
        #expect(!harness.engine.waitUntilIdle(timeout: 0))
        #expect(harness.finished.all.isEmpty)

        harness.engine.faults.set(Self.never, for: "recording")
        batch.attempt = 2
        #expect(executor.run(batch, willRetryOnFailure: true) == .done)
        let resolved = try #require(try temporary.journal.entry(entry.id))
        #expect(resolved.status == .resolved)
        #expect(resolved.resolution == "retry")
        #expect(temporary.journal.listing().total == 1)
        #expect(temporary.journal.listing().open == 0)
        #expect(Self.figures(harness.engine)?.inFlight == 0)
        #expect(harness.engine.waitUntilIdle(timeout: 0))
    }

    @Test func retriesThatRunOutAreDeadLettered() throws {
        let temporary = try TemporaryJournal()
        defer { temporary.directory.remove() }
        let harness = try EngineHarness(Self.document, journal: temporary.journal)
        let executor = harness.engine.executor
        var batch = Self.batch(harness.engine)
        executor.queued(batch)
        harness.engine.faults.set(Self.alwaysFail, for: "recording")
        executor.run(batch, willRetryOnFailure: true)

        batch.attempt = 2
        let error = BatchError(kind: .worker, message: "max retries exceeded")
        executor.fail(batch, error: error, willRetry: false, deadLettered: true)
        let entries = try temporary.journal.entries(FailureFilter(statuses: []))
        #expect(entries.count == 1)
        #expect(entries.first?.status == .open)
        #expect(entries.first?.deadLettered == true)
        #expect(entries.first?.attempts == 2)
        #expect(entries.first?.error == error)
        #expect(Self.figures(harness.engine)?.deadLettered == 1)
        #expect(Self.figures(harness.engine)?.failed == 1)
        #expect(harness.finished.all.map(\.outcome) == [.failed(error)])
        #expect(harness.records("Batch dead-lettered").count == 1)
    }

    @Test func successfulReplayResolvesTheEntry() throws {
        let temporary = try TemporaryJournal()
        defer { temporary.directory.remove() }
        let harness = try EngineHarness(Self.document, journal: temporary.journal)
        let original = Self.batch(harness.engine)
        let entryID = try temporary.journal.record(
            original, error: BatchError(kind: .cache, message: "down"), attempts: 1, ruleFingerprints: [:], at: 1)
        let dispatcher = try #require(harness.engine.rules.dispatchersByName["recording"])

        var replay = Self.batch(harness.engine, replayOf: entryID)
        replay.attempt = 2
        let raised = harness.engine.dispatch(replay, via: dispatcher, redeliver: true)
        #expect(raised == nil)
        #expect(harness.log.all.map(\.id) == [replay.id])
        let entry = try #require(try temporary.journal.entry(entryID))
        #expect(entry.status == .resolved)
        #expect(entry.resolution == "replay")
        #expect(Self.figures(harness.engine)?.replayed == 1)
    }

    @Test func failedReplayUpdatesTheSameEntry() throws {
        let temporary = try TemporaryJournal()
        defer { temporary.directory.remove() }
        let harness = try EngineHarness(Self.document, journal: temporary.journal)
        let entryID = try temporary.journal.record(
            Self.batch(harness.engine), error: BatchError(kind: .cache, message: "down"), attempts: 1,
            ruleFingerprints: [:], at: 1)
        let dispatcher = try #require(harness.engine.rules.dispatchersByName["recording"])
        harness.engine.faults.set(Self.alwaysFail, for: "recording")

        var replay = Self.batch(harness.engine, replayOf: entryID)
        replay.attempt = 3
        harness.engine.dispatch(replay, via: dispatcher, redeliver: true)
        let entry = try #require(try temporary.journal.entry(entryID))
        #expect(entry.status == .open)
        #expect(entry.attempts == 3)
        #expect(entry.error.kind == .fault)
        #expect(temporary.journal.listing().total == 1)
    }

    @Test func sentReplayResolvesTheEntryAsSent() throws {
        let temporary = try TemporaryJournal()
        defer { temporary.directory.remove() }
        let harness = try EngineHarness(Self.document, journal: temporary.journal)
        let entryID = try temporary.journal.record(
            Self.batch(harness.engine), error: BatchError(kind: .broker, message: "down"), attempts: 1,
            ruleFingerprints: [:], at: 1)
        let replay = Self.batch(harness.engine, replayOf: entryID)
        harness.engine.executor.queued(replay)
        harness.engine.executor.markSent(replay)
        #expect(try temporary.journal.entry(entryID)?.resolution == "sent")
        #expect(harness.finished.all.map(\.outcome) == [.sent])
        #expect(Self.figures(harness.engine)?.sent == 1)
        #expect(harness.engine.waitUntilIdle(timeout: 0))
    }

    @Test func batchNamingAnUnknownRuleFailsAsRuleMissing() throws {
        let temporary = try TemporaryJournal()
        defer { temporary.directory.remove() }
        let harness = try EngineHarness(Self.document, journal: temporary.journal)
        let batch = Self.batch(harness.engine, ruleIDs: ["gone"])
        let outcome = harness.engine.executor.run(batch)
        #expect(outcome.error == BatchError(kind: .ruleMissing, message: "the configuration has no rule 'gone'", ruleID: "gone"))
        #expect(try temporary.journal.entries(FailureFilter()).first?.error.kind == .ruleMissing)
    }

    @Test func journalRecordsTheFingerprintOfEachRule() throws {
        let temporary = try TemporaryJournal()
        defer { temporary.directory.remove() }
        let harness = try EngineHarness(Self.document, journal: temporary.journal)
        harness.engine.faults.set(Self.alwaysFail, for: "recording")
        harness.engine.executor.run(Self.batch(harness.engine, ruleIDs: ["detail", "gone"]))
        let entry = try #require(try temporary.journal.entries(FailureFilter()).first)
        #expect(entry.ruleFingerprints == ["detail": harness.engine.rules.rule(id: "detail")?.fingerprint ?? "?"])
    }
}
