import Foundation
import TestSupport
import Testing

@testable import Engine

/// Rules of the inline dispatcher run without a batch value being built
/// (``Engine/runInline(_:id:origin:runs:)``), unless a fault is injected or
/// a caller waits for an outcome. These tests hold that path to the same
/// outcomes as the path that builds every batch.
@Suite struct InlineRunTests {
    /// Five rules of `shop.Product`, all alone in their dispatch calls:
    /// inline ones that drop, fail with the error raised, and fail quietly,
    /// with a rule of the calling-thread `recording` dispatcher between them.
    static let document = """
        {"settings": {"cache_key_prefix": "site"},
         "functions": [
           {"name": "shop.views.detail", "key": {"partition": ["product_id"]},
            "rules": [{"id": "detail", "model": "shop.Product", "field_mapping": {"product_id": "id"}}]},
           {"name": "shop.views.search",
            "rules": [{"id": "search", "model": "shop.Product", "invalidator": "read_only", "raise_exception": true}]},
           {"name": "shop.views.recorded", "key": {"partition": ["product_id"]},
            "rules": [{"id": "recorded", "model": "shop.Product", "field_mapping": {"product_id": "id"},
                       "dispatcher": "recording", "batch": false}]},
           {"name": "shop.views.feed",
            "rules": [{"id": "feed", "model": "shop.Product", "invalidator": "read_only", "raise_exception": false}]},
           {"name": "shop.views.related", "key": {"namespace": "api", "partition": ["product_id"]},
            "rules": [{"id": "related", "model": "shop.Product", "field_mapping": {"product_id": "id"}}]}
         ]}
        """

    static func keys(product: Int) -> [String] {
        [
            "site:1:shop.views.detail::product_id:\(product)::lang:en",
            "site:1:shop.views.recorded::product_id:\(product)::page:1",
            "site:1:api::shop.views.related::product_id:\(product)::page:2",
        ]
    }

    /// Returns a harness over the document with every product's keys stored. With
    /// `forceBatches`, a caller waits for an outcome that never comes, which
    /// sends every inline rule down the path that builds its batch.
    static func harness(journal: FailureJournal, forceBatches: Bool) throws -> EngineHarness {
        let invalidators = InvalidatorRegistry.builtIn
        invalidators.register("read_only", FailingInvalidator())
        let harness = try EngineHarness(document, journal: journal, invalidators: invalidators)
        for product in 1...4 {
            for key in keys(product: product) { try harness.store.set(key, [1]) }
        }
        if forceBatches {
            _ = harness.engine.executor.expectOutcome(of: .max)
        }
        return harness
    }

    static func event(_ product: Int) -> ChangeEvent {
        saveEvent(pk: .int(Int64(product)), fields: object(("id", .int(Int64(product)))))
    }

    /// What a finished batch shows, without its times.
    struct FinishedFields: Equatable {
        var id: UInt64
        var dispatcher: String
        var batchKey: String
        var model: String
        var pk: JSONValue
        var eventIndex: Int?
        var ruleIDs: [String]
        var restflowRuleIDs: [Int]
        var ruleKwargs: JSONObject
        var options: JSONObject
        var raiseException: Bool
        var outcome: BatchOutcome

        init(_ finished: FinishedBatch) {
            let batch = finished.batch
            id = batch.id
            dispatcher = batch.dispatcher
            batchKey = batch.batchKey
            model = batch.model
            pk = batch.pk
            eventIndex = batch.eventIndex
            ruleIDs = batch.ruleIDs
            restflowRuleIDs = batch.restflowRuleIDs
            ruleKwargs = batch.ruleKwargs
            options = batch.options
            raiseException = batch.raiseException
            outcome = finished.outcome
        }
    }

    /// A live-list row without its times.
    struct LiveRow: Equatable {
        var id: UInt64
        var dispatcher: String
        var pk: JSONValue
        var ruleIDs: [String]
        var state: BatchState
        var error: String?
        var eventIndex: Int?
        var ruleKwargs: JSONObject

        init(_ live: LiveBatch) {
            id = live.id
            dispatcher = live.dispatcher
            pk = live.pk
            ruleIDs = live.ruleIDs
            state = live.state
            error = live.error
            eventIndex = live.eventIndex
            ruleKwargs = live.ruleKwargs
        }
    }

    /// Everything the two paths must agree on after the same events.
    struct Outcome: Equatable {
        var batchIDs: [[UInt64]]
        var raised: [[BatchError]]
        var finished: [FinishedFields]
        var rows: [LiveRow]
        var figures: [String: [UInt64]]
        var journal: [String]
        var remainingKeys: [String]
    }

    static func run(forceBatches: Bool) throws -> Outcome {
        let temporary = try TemporaryJournal()
        defer { temporary.directory.remove() }
        let harness = try harness(journal: temporary.journal, forceBatches: forceBatches)
        var batchIDs: [[UInt64]] = []
        var raised: [[BatchError]] = []
        for (index, product) in [1, 2, 1, 3].enumerated() {
            let result = harness.engine.process(event(product), index: index)
            batchIDs.append(result.batchIDs)
            raised.append(result.raised)
        }
        let snapshot = harness.engine.snapshot()
        var figures: [String: [UInt64]] = [:]
        for dispatcher in snapshot.dispatchers {
            figures[dispatcher.name] = [dispatcher.dispatched, UInt64(dispatcher.inFlight), dispatcher.done, dispatcher.failed]
        }
        let journal = try temporary.journal.entries(FailureFilter()).map { entry in
            "\(entry.batch.id) \(entry.batch.ruleIDs) \(JSONWriter.string(.object(entry.batch.ruleKwargs))) \(entry.error)"
        }
        let allKeys = (1...4).flatMap { keys(product: $0) }
        return Outcome(
            batchIDs: batchIDs, raised: raised, finished: harness.finished.all.map(FinishedFields.init),
            rows: snapshot.liveBatches.map(LiveRow.init).sorted { $0.id < $1.id }, figures: figures,
            journal: journal.sorted(), remainingKeys: try allKeys.filter { try harness.store.get($0) != nil })
    }

    @Test func shortcutMatchesBuiltBatches() throws {
        let shortcut = try Self.run(forceBatches: false)
        let built = try Self.run(forceBatches: true)
        #expect(shortcut == built)
    }

    @Test func batchesFinishInDispatchOrder() throws {
        let outcome = try Self.run(forceBatches: false)
        // Five dispatch calls per event, numbered in rule order.
        #expect(outcome.batchIDs == [Array(1...5), Array(6...10), Array(11...15), Array(16...20)])
        #expect(outcome.finished.map(\.id) == Array(1...20))
        #expect(outcome.finished.prefix(5).map(\.ruleIDs) == [["detail"], ["search"], ["recorded"], ["feed"], ["related"]])
        let failed = BatchError(
            kind: .invalidator, message: "invalidator 'read_only' failed: the search index is read-only", ruleID: "search")
        #expect(outcome.finished.prefix(5).map(\.outcome) == [
            .done, .failed(failed),
            .done, .failed(BatchError(kind: failed.kind, message: failed.message, ruleID: "feed")), .done,
        ])
        // Only the rule with raise_exception true reaches the caller.
        #expect(outcome.raised.allSatisfy { $0 == [failed] })
        #expect(outcome.figures["inline"] == [16, 0, 8, 8])
        #expect(outcome.figures["recording"] == [4, 0, 4, 0])
        #expect(outcome.journal.count == 8)
        #expect(outcome.finished[4].ruleKwargs == object(("related", .object(object(("product_id", .int(1)))))))
        #expect(outcome.finished[4].eventIndex == 0)
        #expect(outcome.remainingKeys == Self.keys(product: 4))
        #expect(outcome.rows.map(\.id) == Array(1...20))
        #expect(outcome.rows[0] == LiveRow(LiveBatch(
            id: 1, dispatcher: "inline", model: "shop.Product", pk: .int(1), signal: .postSave, ruleIDs: ["detail"],
            state: .done, createdAt: 0, attempt: 1, eventIndex: 0,
            ruleKwargs: object(("detail", .object(object(("product_id", .int(1)))))))))
    }

    @Test func consecutiveRunsShareBoundaryTime() throws {
        let temporary = try TemporaryJournal()
        defer { temporary.directory.remove() }
        let document = """
            {"functions": [
               {"name": "a", "key": {"partition": ["x"]}, "rules": [{"id": "a", "model": "m.M", "field_mapping": {"x": "id"}}]},
               {"name": "b", "key": {"partition": ["x"]}, "rules": [{"id": "b", "model": "m.M", "field_mapping": {"x": "id"}}]},
               {"name": "c", "key": {"partition": ["x"]}, "rules": [{"id": "c", "model": "m.M", "field_mapping": {"x": "id"}}]}
             ]}
            """
        let harness = try EngineHarness(document, journal: temporary.journal)
        harness.engine.process(saveEvent(pk: 5, fields: object(("id", .int(5))), model: "m.M"))
        let live = harness.engine.snapshot().liveBatches.sorted { $0.id < $1.id }
        #expect(live.map(\.ruleIDs) == [["a"], ["b"], ["c"]])
        for (earlier, later) in zip(live, live.dropFirst()) {
            #expect(later.startedAt == earlier.finishedAt)
        }
        for batch in live {
            let started = try #require(batch.startedAt)
            let finished = try #require(batch.finishedAt)
            #expect(batch.createdAt <= started)
            #expect(started <= finished)
        }
    }

    @Test func injectedFaultStillApplies() throws {
        let temporary = try TemporaryJournal()
        defer { temporary.directory.remove() }
        let harness = try Self.harness(journal: temporary.journal, forceBatches: false)
        harness.engine.faults.set(FaultSetting(failurePercent: 100, addedLatencyMilliseconds: 0), for: "inline")
        let result = harness.engine.process(Self.event(1))
        #expect(result.batchIDs == Array(1...5))
        let entries = try temporary.journal.entries(FailureFilter())
        #expect(entries.filter { $0.error.kind == .fault }.map(\.batch.ruleIDs).sorted { $0[0] < $1[0] } == [
            ["detail"], ["feed"], ["related"], ["search"],
        ])
        // The faulted rules did not run; the recording rule did.
        #expect(try harness.store.get(Self.keys(product: 1)[0]) != nil)
        #expect(try harness.store.get(Self.keys(product: 1)[1]) == nil)
    }

    @Test func recentRunsBoundedNewestFirst() throws {
        let document = """
            {"functions": [
               {"name": "a", "key": {"partition": ["x"]}, "rules": [{"id": "a", "model": "m.M", "field_mapping": {"x": "id"}}]},
               {"name": "b", "key": {"partition": ["x"]},
                "rules": [{"id": "b", "model": "m.M", "field_mapping": {"x": "id"}, "dispatcher": "recording", "batch": false}]}
             ]}
            """
        let harness = try EngineHarness(document)
        let events = 300
        for pk in 1...events {
            harness.engine.process(saveEvent(pk: .int(Int64(pk)), fields: object(("id", .int(Int64(pk)))), model: "m.M"))
        }
        let live = harness.engine.snapshot(liveLimit: 10_000).liveBatches
        // Each ring keeps its newest runs: inline ones, and batches that went
        // through the recording dispatcher.
        let capacity = BatchTracker.recentCapacity
        #expect(live.count == 2 * capacity)
        #expect(live.map(\.id) == live.map(\.id).sorted(by: >))
        #expect(live.filter { $0.dispatcher == "inline" }.map(\.id) == (0..<capacity).map { UInt64(2 * events - 1 - 2 * $0) })
        #expect(live.first { $0.dispatcher == "inline" }?.ruleKwargs == object(("a", .object(object(("x", .int(Int64(events))))))))
        let figures = try #require(harness.engine.snapshot().dispatchers.first { $0.name == "inline" })
        #expect(figures.dispatched == UInt64(events))
        #expect(figures.done == UInt64(events))
        #expect(figures.runTimeP50 != nil)
    }
}
