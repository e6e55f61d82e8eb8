import Foundation
import TestSupport
import Testing

@testable import Engine

/// The engine end to end over a ``MemoryCacheStore``.
@Suite struct EngineTests {
    /// Three cached functions of `shop.Product`: `detail` runs inline and
    /// alone; `team` and `catalog` share a thread-pool batch.
    static let document = """
        {"settings": {"cache_key_prefix": "site"},
         "functions": [
           {"name": "shop.views.product_detail", "key": {"partition": ["product_id"]},
            "rules": [{"id": "detail", "model": "shop.Product", "field_mapping": {"product_id": "id"}}]},
           {"name": "shop.views.team_products", "key": {"namespace": "api", "partition": ["team"]},
            "rules": [{"id": "team", "model": "shop.Product", "field_mapping": {"team": "team.id"},
                       "dispatcher": "threadpool", "batch": true, "watch_fields": ["team", "price"]}]},
           {"name": "shop.views.catalog",
            "rules": [{"id": "catalog", "model": "shop.Product", "invalidator": "drop_all",
                       "dispatcher": "threadpool", "batch": true}]}
         ]}
        """

    static let cachedKeys = [
        "site:1:shop.views.product_detail::product_id:7::lang:en",
        "site:1:shop.views.product_detail::product_id:7::lang:de",
        "site:1:shop.views.product_detail::product_id:8::lang:en",
        "site:1:api::shop.views.team_products::team:3::page:1",
        "site:1:api::shop.views.team_products::team:4::page:1",
        "site:1:shop.views.catalog::page:1",
        "site:1:shop.views.catalog::page:2",
    ]

    static func product(_ id: Int64, team: Int64, updateFields: [String]? = nil) -> ChangeEvent {
        saveEvent(
            pk: .int(id), updateFields: updateFields,
            fields: object(("id", .int(id)), ("team", .object(object(("id", .int(team)))))))
    }

    static func harness(journal: FailureJournal? = nil, document: String = document) throws -> EngineHarness {
        let harness = try EngineHarness(document, journal: journal)
        for key in cachedKeys {
            try harness.store.set(key, Array(key.utf8))
        }
        return harness
    }

    static func remaining(_ harness: EngineHarness) throws -> [String] {
        try cachedKeys.filter { try harness.store.get($0) != nil }
    }

    // MARK: - Processing

    @Test func eventDropsExactlyItsEntries() async throws {
        let harness = try Self.harness()
        harness.engine.process(Self.product(7, team: 3), index: 0)
        #expect(await harness.settle())
        #expect(
            try Self.remaining(harness) == [
                "site:1:shop.views.product_detail::product_id:8::lang:en",
                "site:1:api::shop.views.team_products::team:4::page:1",
            ])
        #expect(harness.store.entryCount == 2)
    }

    @Test func partialSaveRunsOnlyTheRulesItConcerns() async throws {
        let harness = try Self.harness()
        harness.engine.process(Self.product(8, team: 4, updateFields: ["name"]))
        #expect(await harness.settle())
        #expect(
            try Self.remaining(harness) == [
                "site:1:shop.views.product_detail::product_id:7::lang:en",
                "site:1:shop.views.product_detail::product_id:7::lang:de",
                "site:1:api::shop.views.team_products::team:3::page:1",
                "site:1:api::shop.views.team_products::team:4::page:1",
            ])
        #expect(harness.finished.all.map(\.batch.ruleIDs).sorted { $0.count < $1.count } == [["detail"], ["catalog"]])
    }

    /// Batches of one group reuse the rule id arrays of the last batch with
    /// the same rules. Events that fire other rules of the group in between
    /// must still get exactly their own rules.
    @Test func groupBatchesNameTheirOwnRules() async throws {
        let harness = try Self.harness()
        let saves: [(updateFields: [String]?, ids: [String], numbers: [Int])] = [
            (nil, ["team", "catalog"], [2, 3]),
            (["name"], ["catalog"], [3]),
            (nil, ["team", "catalog"], [2, 3]),
            (nil, ["team", "catalog"], [2, 3]),
            (["price"], ["team", "catalog"], [2, 3]),
            (["name"], ["catalog"], [3]),
            (["name"], ["catalog"], [3]),
        ]
        var grouped: [UInt64: ([String], [Int])] = [:]
        for (index, save) in saves.enumerated() {
            let result = harness.engine.process(Self.product(7, team: 3, updateFields: save.updateFields), index: index)
            #expect(await harness.settle())
            let batches = harness.finished.all.map(\.batch).filter { result.batchIDs.contains($0.id) }
            let group = try #require(batches.first { $0.dispatcher == "threadpool" }, "save \(index)")
            grouped[group.id] = (group.ruleIDs, group.restflowRuleIDs)
            #expect(group.ruleIDs == save.ids, "save \(index)")
            #expect(group.restflowRuleIDs == save.numbers, "save \(index)")
        }
        #expect(grouped.count == saves.count)
    }

    @Test func batchesCarryRuleIDsArgumentsAndTheEvent() async throws {
        let harness = try Self.harness()
        let event = Self.product(7, team: 3)
        let result = harness.engine.process(event, index: 4)
        #expect(await harness.settle())
        let batches = harness.finished.all.map(\.batch).sorted { $0.id < $1.id }
        #expect(batches.map(\.id) == result.batchIDs)
        #expect(batches.count == 2)

        let inline = try #require(batches.first)
        #expect(inline.dispatcher == "inline")
        #expect(inline.batchKey == "inline")
        #expect(inline.ruleIDs == ["detail"])
        #expect(inline.restflowRuleIDs == [1])
        #expect(inline.ruleKwargs == object(("detail", .object(object(("product_id", 7))))))

        let pooled = try #require(batches.last)
        #expect(pooled.dispatcher == "threadpool")
        #expect(pooled.batchKey == "threadpool")
        #expect(pooled.ruleIDs == ["team", "catalog"])
        #expect(pooled.restflowRuleIDs == [2, 3])
        #expect(pooled.ruleKwargs.keys == ["team", "catalog"])
        #expect(pooled.ruleKwargs["team"] == .object(object(("team", 3))))
        #expect(pooled.ruleKwargs["catalog"] == event.json)
        #expect(pooled.options == object(("max_workers", 4)))

        for batch in batches {
            #expect(batch.model == "shop.Product")
            #expect(batch.pk == .int(7))
            #expect(batch.signal == .postSave)
            #expect(batch.eventIndex == 4)
            #expect(!batch.raiseException)
            #expect(batch.attempt == 1)
        }
    }

    @Test func dispatchCallsFollowThePlanOrder() throws {
        let document = """
            {"functions": [{"name": "f", "rules": [
              {"id": "a1", "model": "m.M", "dispatcher": "recording", "batch": true, "dispatcher_config": {"lane": "a"}},
              {"id": "solo", "model": "m.M", "dispatcher": "recording", "batch": true,
               "dispatcher_config": {"batching": false}},
              {"id": "b1", "model": "m.M", "dispatcher": "recording", "batch": true, "dispatcher_config": {"lane": "b"}},
              {"id": "a2", "model": "m.M", "dispatcher": "recording", "batch": true, "dispatcher_config": {"lane": "a"}},
              {"id": "unbatched", "model": "m.M", "dispatcher": "recording", "dispatcher_config": {"lane": "a"}},
              {"id": "b2", "model": "m.M", "dispatcher": "recording", "batch": true, "dispatcher_config": {"lane": "b"}}
            ]}]}
            """
        let harness = try EngineHarness(document)
        let result = harness.engine.process(saveEvent(model: "m.M"))
        #expect(harness.log.ruleIDGroups == [["solo"], ["unbatched"], ["a1", "a2"], ["b1", "b2"]])
        #expect(harness.log.all.map(\.id) == result.batchIDs)
        #expect(result.batchIDs == result.batchIDs.sorted())
        #expect(harness.log.all.map(\.batchKey) == ["recording|batching=false", "recording|lane=\"a\"",
                                                     "recording|lane=\"a\"", "recording|lane=\"b\""])
        #expect(harness.log.all[2].ruleKwargs.keys == ["a1", "a2"])
        #expect(harness.engine.snapshot().events.dispatches == 4)
    }

    @Test func observerSeesEveryBatchOnce() async throws {
        let harness = try Self.harness()
        var dispatched: [UInt64] = []
        for (index, id) in [7, 8, 7].enumerated() {
            dispatched += harness.engine.process(Self.product(Int64(id), team: 3), index: index).batchIDs
        }
        #expect(await harness.settle())
        let finished = harness.finished.all
        #expect(finished.map(\.batch.id).sorted() == dispatched)
        #expect(finished.allSatisfy { $0.outcome == .done })
        #expect(finished.allSatisfy { $0.finishedAt >= $0.batch.createdAt })
        #expect(dispatched == Array(1...6))
    }

    @Test func eventOfAnUnknownModelIsReadButDispatchesNothing() throws {
        let harness = try Self.harness()
        let result = harness.engine.process(saveEvent(model: "shop.Order"))
        #expect(result.batchIDs.isEmpty)
        #expect(harness.engine.snapshot().events.read == 1)
        #expect(harness.engine.snapshot().events.dispatches == 0)
        #expect(harness.store.entryCount == Self.cachedKeys.count)
    }

    @Test func emptyUpdateFieldsIsCountedAndSkipped() throws {
        let harness = try Self.harness()
        let result = harness.engine.process(Self.product(7, team: 3, updateFields: []))
        #expect(result.skippedEmptyUpdate)
        #expect(result.batchIDs.isEmpty)
        let counters = harness.engine.snapshot().events
        #expect(counters.read == 1)
        #expect(counters.skippedEmpty == 1)
        #expect(counters.dispatches == 0)
        #expect(harness.store.entryCount == Self.cachedKeys.count)
        #expect(harness.log.all.isEmpty)
    }

    @Test func deleteOfARecordDropsItsEntries() async throws {
        let harness = try Self.harness()
        harness.engine.process(deleteEvent(pk: 8, fields: object(("id", 8), ("team", .object(object(("id", 4)))))))
        #expect(await harness.settle())
        #expect(try harness.store.get("site:1:shop.views.product_detail::product_id:8::lang:en") == nil)
        #expect(try harness.store.get("site:1:api::shop.views.team_products::team:4::page:1") == nil)
        #expect(try harness.store.get("site:1:api::shop.views.team_products::team:3::page:1") != nil)
    }

    // MARK: - Snapshot

    @Test func snapshotShowsDispatcherFigures() async throws {
        let harness = try Self.harness()
        harness.engine.process(Self.product(7, team: 3))
        harness.engine.process(Self.product(8, team: 4))
        #expect(await harness.settle())
        let snapshot = harness.engine.snapshot()
        #expect(snapshot.dispatchers.map(\.name) == ["asyncio", "inline", "recording", "threadpool"])

        let inline = try #require(snapshot.dispatchers.first { $0.name == "inline" })
        #expect(inline.dispatched == 2)
        #expect(inline.done == 2)
        #expect(inline.failed == 0)
        #expect(inline.inFlight == 0)
        #expect(inline.ruleCount == 1)
        #expect(inline.runsOn == "calling thread")
        #expect(!inline.batching)
        #expect(inline.runTimeP50 != nil)

        let pool = try #require(snapshot.dispatchers.first { $0.name == "threadpool" })
        #expect(pool.dispatched == 2)
        #expect(pool.done == 2)
        #expect(pool.ruleCount == 2)
        #expect(pool.batching)
        #expect(pool.runsOn.hasPrefix("pool of "))
        #expect(pool.queueWaitP50 != nil)

        let asyncio = try #require(snapshot.dispatchers.first { $0.name == "asyncio" })
        #expect(asyncio.dispatched == 0)
        #expect(asyncio.ruleCount == 0)

        #expect(snapshot.events.read == 2)
        #expect(snapshot.events.dispatches == 4)
        #expect(snapshot.failures == FailureListing())
        #expect(snapshot.queues.isEmpty)
    }

    @Test func snapshotListsLiveAndRecentBatches() async throws {
        let harness = try Self.harness()
        let first = harness.engine.process(Self.product(7, team: 3), index: 0).batchIDs
        let second = harness.engine.process(Self.product(8, team: 4), index: 1).batchIDs
        #expect(await harness.settle())
        let live = harness.engine.snapshot().liveBatches
        #expect(Set(live.map(\.id)) == Set(first + second))
        #expect(live.allSatisfy { $0.state == .done })
        #expect(live.first { $0.id == first[0] }?.eventIndex == 0)
        #expect(live.first { $0.id == second[1] }?.ruleIDs == ["team", "catalog"])
        #expect(harness.engine.snapshot(liveLimit: 1).liveBatches.count == 1)
    }

    @Test func snapshotWorksWithAClockNearZero() throws {
        let configuration = try ConfigurationLoader.parse(Self.document)
        let rules = try RuleSet.compile(configuration, registry: .withInProcessDispatchers())
        let engine = Engine(
            rules: rules, registry: .withInProcessDispatchers(), cache: CacheContext(store: MemoryCacheStore()),
            journal: nil, clock: { 3.5 })
        engine.process(Self.product(7, team: 3))
        #expect(engine.waitUntilIdle(timeout: 10))
        let snapshot = engine.snapshot()
        #expect(snapshot.time == 3.5)
        #expect(snapshot.dispatchers.first { $0.name == "inline" }?.done == 1)
        #expect(snapshot.dispatchers.first { $0.name == "inline" }?.rate60s == 0)
    }

    // MARK: - Failures

    @Test func injectedFaultIsJournalledAsFault() throws {
        let temporary = try TemporaryJournal()
        defer { temporary.directory.remove() }
        let harness = try Self.harness(journal: temporary.journal)
        harness.engine.faults.set(FaultSetting(failurePercent: 100, addedLatencyMilliseconds: 0), for: "inline")
        let result = harness.engine.process(Self.product(7, team: 3))
        #expect(harness.engine.waitUntilIdle(timeout: 10))

        let entries = try temporary.journal.entries(FailureFilter())
        #expect(entries.count == 1)
        #expect(entries.first?.error.kind == .fault)
        #expect(entries.first?.error.message == "injected fault (100% of inline batches fail)")
        #expect(entries.first?.batch.id == result.batchIDs.first)
        #expect(entries.first?.batch.dispatcher == "inline")
        #expect(entries.first?.ruleFingerprints.keys.sorted() == ["detail"])
        // The fault stops the rules, so product 7's detail entries stay.
        #expect(try harness.store.get("site:1:shop.views.product_detail::product_id:7::lang:en") != nil)

        let snapshot = harness.engine.snapshot()
        let inline = try #require(snapshot.dispatchers.first { $0.name == "inline" })
        #expect(inline.failed == 1)
        #expect(inline.fault == FaultSetting(failurePercent: 100, addedLatencyMilliseconds: 0))
        #expect(snapshot.failures.total == 1)
        #expect(snapshot.failures.rows.first?.errorKind == .fault)
        #expect(snapshot.dispatchers.first { $0.name == "threadpool" }?.failed == 0)
    }

    @Test func injectedLatencyDelaysTheBatch() throws {
        let harness = try Self.harness()
        harness.engine.faults.set(FaultSetting(failurePercent: 0, addedLatencyMilliseconds: 50), for: "inline")
        let started = Date()
        harness.engine.process(Self.product(8, team: 4, updateFields: ["name"]))
        #expect(Date().timeIntervalSince(started) >= 0.05)
        #expect(harness.finished.all.first { $0.batch.dispatcher == "inline" }?.outcome == .done)
    }

    @Test func clearedFaultStopsFailing() throws {
        let harness = try Self.harness()
        harness.engine.faults.set(FaultSetting(failurePercent: 100, addedLatencyMilliseconds: 0), for: "inline")
        harness.engine.faults.set(FaultSetting(failurePercent: 0, addedLatencyMilliseconds: 0), for: "inline")
        #expect(harness.engine.faults.setting(for: "inline") == nil)
        harness.engine.process(Self.product(8, team: 4, updateFields: ["name"]))
        #expect(harness.finished.all.first { $0.batch.dispatcher == "inline" }?.outcome == .done)
    }

    @Test func failingInvalidatorIsJournalledAndTheBatchGoesOn() async throws {
        let temporary = try TemporaryJournal()
        defer { temporary.directory.remove() }
        let document = """
            {"settings": {"cache_key_prefix": "site"},
             "functions": [
               {"name": "shop.views.search", "rules": [{"id": "search", "model": "shop.Product",
                 "invalidator": "search_index", "dispatcher": "threadpool", "batch": true}]},
               {"name": "shop.views.catalog", "rules": [{"id": "catalog", "model": "shop.Product",
                 "invalidator": "drop_all", "dispatcher": "threadpool", "batch": true}]}
             ]}
            """
        let invalidators = InvalidatorRegistry.builtIn
        invalidators.register("search_index", FailingInvalidator())
        let harness = try EngineHarness(document, journal: temporary.journal, invalidators: invalidators)
        try harness.store.set("site:1:shop.views.catalog::page:1", [1])
        harness.engine.process(saveEvent(pk: 1))
        #expect(await harness.settle())

        // catalog comes after the failing rule in the same batch and still ran.
        #expect(try harness.store.get("site:1:shop.views.catalog::page:1") == nil)
        let entries = try temporary.journal.entries(FailureFilter())
        #expect(entries.count == 1)
        #expect(entries.first?.error.kind == .invalidator)
        #expect(entries.first?.error.ruleID == "search")
        #expect(entries.first?.error.message == "invalidator 'search_index' failed: the search index is read-only")
        #expect(entries.first?.batch.ruleIDs == ["search", "catalog"])
        let warnings = harness.records("Rule failed")
        #expect(warnings.count == 1)
        #expect(warnings.first.flatMap { metadata($0, LogKey.ruleID) } == "search")
    }

    // MARK: - Rewarm

    static func rewarmDocument(recompute: String?) -> String {
        let recomputer = recompute.map { #", "recompute": "\#($0)""# } ?? ""
        return """
            {"settings": {"cache_key_prefix": "site"},
             "functions": [{"name": "shop.views.product_detail", "key": {"partition": ["product_id"]}\(recomputer),
               "rules": [{"id": "detail", "model": "shop.Product", "field_mapping": {"product_id": "id"}, "rewarm": true}]}]}
            """
    }

    @Test func rewarmRecomputesTheEntry() throws {
        let recomputers = RecomputerRegistry.builtIn
        recomputers.register("fixed", FixedRecomputer(text: "fresh"))
        let harness = try EngineHarness(Self.rewarmDocument(recompute: "fixed"), recomputers: recomputers)
        try harness.store.set("site:1:shop.views.product_detail::product_id:7::", Array("stale".utf8))
        try harness.store.set("site:1:shop.views.product_detail::product_id:8::", Array("other".utf8))
        harness.engine.process(saveEvent(pk: 7, fields: object(("id", 7))))
        #expect(try harness.store.get("site:1:shop.views.product_detail::product_id:7::") == Array("fresh".utf8))
        #expect(try harness.store.get("site:1:shop.views.product_detail::product_id:8::") == Array("other".utf8))
        #expect(harness.records("Rewarm not possible, dropping instead: the function has no recomputer").isEmpty)
    }

    @Test func rewarmWithTheSnapshotRecomputerStoresTheArguments() throws {
        let harness = try EngineHarness(Self.rewarmDocument(recompute: "snapshot"))
        harness.engine.process(saveEvent(pk: 7, fields: object(("id", 7))))
        let stored = try #require(try harness.store.get("site:1:shop.views.product_detail::product_id:7::"))
        let value = try JSONParser.parse(String(decoding: stored, as: UTF8.self))
        #expect(value["function"] == "shop.views.product_detail")
        #expect(value["arguments"] == .object(object(("product_id", 7))))
        #expect(value["recomputed_at_us"]?.intValue != nil)
    }

    @Test func rewarmWithoutARecomputerDropsAndLogsWhy() throws {
        let harness = try EngineHarness(Self.rewarmDocument(recompute: nil))
        try harness.store.set("site:1:shop.views.product_detail::product_id:7::lang:en", [1])
        let batchID = harness.engine.process(saveEvent(pk: 7, fields: object(("id", 7)))).batchIDs.first
        #expect(try harness.store.get("site:1:shop.views.product_detail::product_id:7::lang:en") == nil)

        let records = harness.records("Rewarm not possible, dropping instead: the function has no recomputer")
        #expect(records.count == 1)
        let record = try #require(records.first)
        #expect(record.level == .info)
        #expect(record.label == "rules")
        #expect(metadata(record, LogKey.batchID) == batchID.map(String.init))
        #expect(metadata(record, LogKey.ruleID) == "detail")
        #expect(metadata(record, LogKey.function) == "shop.views.product_detail")
        #expect(
            harness.logs.lines.contains {
                $0.hasSuffix(
                    "info rules: Rewarm not possible, dropping instead: the function has no recomputer "
                        + "batch.id=\(batchID ?? 0) rule.id=detail function=shop.views.product_detail")
            })
        #expect(harness.finished.all.map(\.outcome) == [.done])
    }

    @Test func failedRecomputeDropsAndLogsTheError() throws {
        let recomputers = RecomputerRegistry.builtIn
        recomputers.register("slow", FailingRecomputer())
        let harness = try EngineHarness(Self.rewarmDocument(recompute: "slow"), recomputers: recomputers)
        try harness.store.set("site:1:shop.views.product_detail::product_id:7::lang:en", [1])
        harness.engine.process(saveEvent(pk: 7, fields: object(("id", 7))))
        #expect(try harness.store.get("site:1:shop.views.product_detail::product_id:7::lang:en") == nil)

        let records = harness.records("Rewarm failed, dropping instead")
        #expect(records.count == 1)
        #expect(records.first?.level == .warning)
        #expect(records.first.flatMap { metadata($0, LogKey.error) } == "the product service timed out")
        #expect(harness.finished.all.map(\.outcome) == [.done])
    }

    // MARK: - Event lines

    @Test func malformedLinesAreCountedAndTheRestProcessed() async throws {
        let directory = try TemporaryDirectory(prefix: "engine-events")
        defer { directory.remove() }
        let lines = [
            #"{"model": "shop.Product", "pk": 7, "signal": "post_save", "fields": {"id": 7, "team": {"id": 3}}}"#,
            "",
            #"{"model": "shop.Product", "pk": 8, "signal": "post_save", "update_fields": "name"}"#,
            "not json\r",
            #"{"model": "shop.Product", "pk": 8, "signal": "post_delete", "fields": {"id": 8, "team": {"id": 4}}}"#,
        ]
        let path = try directory.write("events.jsonl", lines.joined(separator: "\n"))
        let harness = try Self.harness()
        let reader = try EventLineReader(path: path)
        var index = 0
        while let line = reader.next() {
            switch line {
            case .event(let event, _):
                harness.engine.process(event, index: index)
                index += 1
            case .rejected(let number, let error):
                harness.engine.recordRejectedLine(number, error: error)
            }
        }
        #expect(await harness.settle())

        let counters = harness.engine.snapshot().events
        #expect(counters.read == 2)
        #expect(counters.rejected == 2)
        #expect(counters.lastRejection == "line 4: invalid JSON at column 1: unexpected 'n', expected a value")
        let warnings = harness.records("Event line rejected")
        #expect(warnings.compactMap { metadata($0, LogKey.line) } == ["3", "4"])
        #expect(
            warnings.first.flatMap { metadata($0, LogKey.error) }
                == #""update_fields" must be a list of field names or null, got "name""#)
        #expect(try Self.remaining(harness) == [])
        #expect(harness.finished.all.compactMap(\.batch.eventIndex).sorted() == [0, 0, 1, 1])
    }
}
