import Dispatch
import Foundation
import Synchronization
import Testing

@testable import Engine

/// Tests of the `asyncio` dispatcher, which runs a batch in a tracked Swift
/// task when called inside a task and on the calling thread otherwise.
@Suite(.serialized) struct AsyncTaskDispatcherTests {
    static func document(raise: Bool? = nil) -> String {
        let policy = raise.map { #", "raise_exception": \#($0)"# } ?? ""
        return singleRuleDocument(#""model": "shop.Product", "dispatcher": "asyncio", "invalidator": "probe""# + policy)
    }

    static func harness(_ invalidator: any Invalidator, raise: Bool? = nil, journal: FailureJournal? = nil) throws
        -> EngineHarness
    {
        try EngineHarness(
            document(raise: raise), journal: journal, invalidators: InvalidatorRegistry(["probe": invalidator]))
    }

    /// Runs `body` on a new thread, outside any Swift task, and returns its result.
    static func onPlainThread<T: Sendable>(_ body: @escaping @Sendable () -> T) -> T {
        let result = Mutex<T?>(nil)
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            result.withLock { $0 = body() }
            done.signal()
        }
        thread.start()
        done.wait()
        return result.withLock { $0! }
    }

    // MARK: - Inside a task

    @Test func insideATaskTheBatchRunsInItsOwnTrackedTask() async throws {
        let probe = ProbeInvalidator(gated: true)
        let harness = try Self.harness(probe)
        #expect(AsyncTaskDispatcher.isInsideTask)

        let result = harness.engine.process(saveEvent(pk: 5))
        #expect(result.batchIDs.count == 1)
        #expect(result.raised.isEmpty)
        // The closed gate keeps the batch running, so it cannot have finished yet.
        #expect(harness.finished.all.isEmpty)
        #expect(AsyncTaskDispatcher.pendingTasks >= 1)

        let snapshot = harness.engine.snapshot()
        let live = snapshot.liveBatches.first { $0.id == result.batchIDs.first }
        #expect(live?.state == .queued || live?.state == .running)
        #expect(snapshot.dispatchers.first { $0.name == "asyncio" }?.inFlight == 1)
        #expect(!harness.engine.waitUntilIdle(timeout: 0))

        probe.open()
        #expect(await harness.settle())
        #expect(harness.finished.all.map(\.outcome) == [.done])
        #expect(probe.all.map(\.insideTask) == [true])
        #expect(harness.engine.snapshot().dispatchers.first { $0.name == "asyncio" }?.done == 1)
    }

    @Test func insideATaskAFailureIsRecordedNotRaised() async throws {
        let journal = try TemporaryJournal()
        defer { journal.directory.remove() }
        let harness = try Self.harness(FailingInvalidator(), raise: true, journal: journal.journal)

        let result = harness.engine.process(saveEvent(pk: 5))
        #expect(await harness.settle())
        #expect(result.raised.isEmpty)
        #expect(harness.finished.all.map(\.outcome.label) == ["failed"])
        #expect(journal.journal.listing().total == 1)
    }

    // MARK: - Outside a task

    @Test func outsideATaskTheBatchRunsInline() throws {
        let probe = ProbeInvalidator()
        let harness = try Self.harness(probe)
        let (inside, caller, finishedBeforeReturn) = Self.onPlainThread {
            let inside = AsyncTaskDispatcher.isInsideTask
            harness.engine.process(saveEvent(pk: 5))
            return (inside, threadIdentity(), harness.finished.all.count)
        }
        #expect(!inside)
        #expect(finishedBeforeReturn == 1)
        #expect(probe.all.map(\.thread) == [caller])
        #expect(probe.all.map(\.insideTask) == [false])
    }

    @Test func outsideATaskTheFallbackIsLoggedAtDebug() throws {
        let harness = try Self.harness(ProbeInvalidator())
        let batchID = Self.onPlainThread { harness.engine.process(saveEvent(pk: 5)).batchIDs.first }
        let records = harness.records("No current task, running the batch inline")
        #expect(records.count == 1)
        #expect(records.first?.level == .debug)
        #expect(records.first.flatMap { metadata($0, LogKey.batchID) } == batchID.map(String.init))
    }

    @Test func outsideATaskARaisedFailureReturnsToTheCaller() throws {
        let harness = try Self.harness(FailingInvalidator(), raise: true)
        let raised = Self.onPlainThread { harness.engine.process(saveEvent(pk: 5)).raised }
        #expect(raised.map(\.kind) == [.invalidator])
        #expect(raised.first?.message == "invalidator 'probe' failed: the search index is read-only")
    }

    @Test func outsideATaskAFailureWithoutRaiseStaysQuiet() throws {
        let harness = try Self.harness(FailingInvalidator(), raise: false)
        let raised = Self.onPlainThread { harness.engine.process(saveEvent(pk: 5)).raised }
        #expect(raised.isEmpty)
        #expect(harness.finished.all.map(\.outcome.label) == ["failed"])
    }
}
