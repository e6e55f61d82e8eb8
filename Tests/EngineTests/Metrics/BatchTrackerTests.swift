import Testing

@testable import Engine

@Suite struct BatchTrackerTests {
    static func batch(_ id: UInt64, dispatcher: String = "threadpool", createdAt: Double = 1000, replayOf: Int64? = nil)
        -> Batch
    {
        Batch(
            id: id, dispatcher: dispatcher, batchKey: dispatcher, model: "shop.Product", pk: .int(Int64(id)),
            signal: .postSave, ruleIDs: ["r"], restflowRuleIDs: [1], ruleKwargs: JSONObject(), createdAt: createdAt,
            replayOf: replayOf)
    }

    static func figures(_ tracker: BatchTracker, _ name: String = "threadpool", at time: Double = 1010) -> DispatcherSnapshot? {
        tracker.snapshot(at: time, liveLimit: 500).figures[name]
    }

    static let failure = BatchError(kind: .cache, message: "store timed out")

    // MARK: - States

    @Test func queuedBatchIsInFlight() throws {
        let tracker = BatchTracker()
        tracker.queued(Self.batch(1), at: 1000)
        let figures = try #require(Self.figures(tracker))
        #expect(figures.dispatched == 1)
        #expect(figures.queued == 1)
        #expect(figures.inFlight == 1)
        #expect(tracker.snapshot(at: 1000, liveLimit: 10).live.map(\.state) == [.queued])
    }

    @Test func startedBatchIsRunning() throws {
        let tracker = BatchTracker()
        tracker.queued(Self.batch(1), at: 1000)
        tracker.started(Self.batch(1), at: 1000.25)
        let figures = try #require(Self.figures(tracker, at: 1000.5))
        #expect(figures.queued == 0)
        #expect(figures.inFlight == 1)
        let live = tracker.snapshot(at: 1000.5, liveLimit: 10).live
        #expect(live.map(\.state) == [.running])
        #expect(live.first?.startedAt == 1000.25)
        let wait = try #require(figures.queueWaitP50)
        #expect(wait >= 250_000)
        #expect(Double(wait) <= 250_000 * 1.125)
    }

    @Test func doneBatchLeavesFlight() throws {
        let tracker = BatchTracker()
        tracker.queued(Self.batch(1), at: 1000)
        tracker.started(Self.batch(1), at: 1000)
        tracker.finished(Self.batch(1), state: .done, error: nil, at: 1000.002)
        let figures = try #require(Self.figures(tracker))
        #expect(figures.inFlight == 0)
        #expect(figures.done == 1)
        #expect(figures.failed == 0)
        let runTime = try #require(figures.runTimeP50)
        #expect(runTime >= 2000)
        #expect(Double(runTime) <= 2000 * 1.125)
        #expect(tracker.unfinishedCount == 0)
        let recent = tracker.snapshot(at: 1001, liveLimit: 10).live
        #expect(recent.map(\.state) == [.done])
        #expect(recent.first?.finishedAt == 1000.002)
    }

    @Test func failedBatchKeepsItsError() throws {
        let tracker = BatchTracker()
        tracker.queued(Self.batch(1), at: 1000)
        tracker.started(Self.batch(1), at: 1000)
        tracker.finished(Self.batch(1), state: .failed, error: Self.failure, at: 1001)
        let figures = try #require(Self.figures(tracker))
        #expect(figures.failed == 1)
        #expect(figures.done == 0)
        #expect(figures.inFlight == 0)
        #expect(tracker.snapshot(at: 1001, liveLimit: 10).live.first?.error == "store timed out")
    }

    @Test func retryingBatchStaysInFlightUntilItEnds() throws {
        let tracker = BatchTracker()
        var batch = Self.batch(1)
        tracker.queued(batch, at: 1000)
        tracker.started(batch, at: 1000)
        tracker.retrying(batch, error: Self.failure, at: 1001)
        var figures = try #require(Self.figures(tracker))
        #expect(figures.inFlight == 1)
        #expect(figures.retried == 1)
        #expect(tracker.snapshot(at: 1001, liveLimit: 10).live.map(\.state) == [.retrying])

        batch.attempt = 2
        tracker.started(batch, at: 1002)
        figures = try #require(Self.figures(tracker))
        #expect(figures.inFlight == 1)
        #expect(tracker.snapshot(at: 1002, liveLimit: 10).live.first?.attempt == 2)

        tracker.finished(batch, state: .done, error: nil, at: 1003)
        figures = try #require(Self.figures(tracker))
        #expect(figures.inFlight == 0)
        #expect(figures.done == 1)
        #expect(figures.retried == 1)
        #expect(figures.dispatched == 1)
    }

    @Test func deadLetteredBatchCountsAsFailed() throws {
        let tracker = BatchTracker()
        tracker.queued(Self.batch(1), at: 1000)
        tracker.finished(Self.batch(1), state: .dead, error: Self.failure, at: 1001)
        let figures = try #require(Self.figures(tracker))
        #expect(figures.failed == 1)
        #expect(figures.deadLettered == 1)
        #expect(figures.inFlight == 0)
    }

    @Test func sentBatchHasNoRunTime() throws {
        let tracker = BatchTracker()
        tracker.queued(Self.batch(1, dispatcher: "celery"), at: 1000)
        tracker.started(Self.batch(1, dispatcher: "celery"), at: 1000)
        tracker.finished(Self.batch(1, dispatcher: "celery"), state: .sent, error: nil, at: 1001)
        let figures = try #require(Self.figures(tracker, "celery"))
        #expect(figures.sent == 1)
        #expect(figures.inFlight == 0)
        #expect(figures.runTimeP50 == nil)
    }

    @Test func replayIsCounted() throws {
        let tracker = BatchTracker()
        tracker.queued(Self.batch(1, replayOf: 17), at: 1000)
        let figures = try #require(Self.figures(tracker))
        #expect(figures.replayed == 1)
        #expect(tracker.snapshot(at: 1000, liveLimit: 10).live.first?.replayOf == 17)
    }

    @Test func finishingAnUntrackedBatchLeavesFlightCountsAlone() throws {
        let tracker = BatchTracker()
        tracker.queued(Self.batch(1), at: 1000)
        tracker.finished(Self.batch(2), state: .done, error: nil, at: 1001)
        let figures = try #require(Self.figures(tracker))
        #expect(figures.queued == 1)
        #expect(figures.inFlight == 1)
        #expect(figures.done == 1)
    }

    @Test func finishingTwiceCountsInFlightOnce() throws {
        let tracker = BatchTracker()
        tracker.queued(Self.batch(1), at: 1000)
        tracker.queued(Self.batch(2), at: 1000)
        tracker.finished(Self.batch(1), state: .done, error: nil, at: 1001)
        tracker.finished(Self.batch(1), state: .done, error: nil, at: 1002)
        let figures = try #require(Self.figures(tracker))
        #expect(figures.queued == 1)
        #expect(figures.inFlight == 1)
    }

    // MARK: - Rates and order

    @Test func completionRatesCountWholeSeconds() throws {
        let tracker = BatchTracker()
        for id in UInt64(1)...20 {
            tracker.queued(Self.batch(id), at: 1000)
            tracker.finished(Self.batch(id), state: .done, error: nil, at: id <= 10 ? 1000.5 : 1005.5)
        }
        let figures = try #require(Self.figures(tracker, at: 1006))
        #expect(figures.rate1s == 10)
        #expect(figures.rate10s == 2)
        #expect(figures.rate60s == 20.0 / 60)
    }

    @Test func liveListsInFlightNewestFirstThenRecent() {
        let tracker = BatchTracker()
        for id in UInt64(1)...4 {
            tracker.queued(Self.batch(id), at: 1000)
        }
        tracker.finished(Self.batch(1), state: .done, error: nil, at: 1001)
        tracker.finished(Self.batch(3), state: .done, error: nil, at: 1002)
        let live = tracker.snapshot(at: 1003, liveLimit: 10).live
        #expect(live.map(\.id) == [4, 2, 3, 1])
        #expect(tracker.snapshot(at: 1003, liveLimit: 3).live.map(\.id) == [4, 2, 3])
        #expect(tracker.snapshot(at: 1003, liveLimit: 1).live.map(\.id) == [4])
    }

    // MARK: - Bounded memory

    @Test func recentRingStaysWithinItsCapacity() {
        let tracker = BatchTracker()
        for id in UInt64(1)...10_000 {
            let batch = Self.batch(id, dispatcher: id % 2 == 0 ? "threadpool" : "inline")
            tracker.queued(batch, at: 1000)
            tracker.started(batch, at: 1000)
            tracker.finished(batch, state: id % 3 == 0 ? .failed : .done, error: nil, at: 1000 + Double(id) / 1000)
        }
        let snapshot = tracker.snapshot(at: 1011, liveLimit: 100_000)
        #expect(tracker.unfinishedCount == 0)
        #expect(snapshot.live.count == BatchTracker.recentCapacity)
        #expect(snapshot.live.first?.id == 10_000)
        #expect(snapshot.live.last?.id == UInt64(10_000 - BatchTracker.recentCapacity + 1))
        #expect(snapshot.figures.count == 2)
        #expect(snapshot.figures["threadpool"]?.dispatched == 5000)
    }
}
