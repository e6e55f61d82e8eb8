import Testing

@testable import Engine

@Suite struct LatencyHistogramTests {
    // MARK: - LatencyHistogram

    @Test func emptyHistogramHasNoPercentile() {
        #expect(LatencyHistogram().percentile(0.5) == nil)
        #expect(LatencyHistogram().count == 0)
    }

    @Test func valuesBelowSixteenAreExact() {
        for value in UInt64(0)..<16 {
            var histogram = LatencyHistogram()
            histogram.record(microseconds: value)
            #expect(histogram.percentile(0.5) == value)
        }
    }

    /// A single value's percentile is its bucket's upper bound: never below
    /// the value and at most 12.5 % above it.
    @Test(arguments: [
        UInt64(16), 17, 23, 31, 32, 33, 100, 999, 1000, 1023, 1024, 65_535, 65_536, 1_000_000, 123_456_789,
        (UInt64(1) << 39) + 12_345, (UInt64(1) << 40) - 1,
    ])
    func singleValueIsWithinTheBucketError(value: UInt64) throws {
        var histogram = LatencyHistogram()
        histogram.record(microseconds: value)
        let reported = try #require(histogram.percentile(1.0))
        #expect(reported >= value)
        #expect(Double(reported) <= Double(value) * 1.125)
    }

    @Test func randomValuesStayWithinTheBucketError() throws {
        var generator = SeededGenerator(seed: 42)
        for _ in 0..<2000 {
            let value = UInt64.random(in: 16..<(UInt64(1) << 40), using: &generator)
            var histogram = LatencyHistogram()
            histogram.record(microseconds: value)
            let reported = try #require(histogram.percentile(0.5))
            #expect(reported >= value, "value \(value)")
            #expect(Double(reported) <= Double(value) * 1.125, "value \(value)")
        }
    }

    @Test func valuesPastTheRangeLandInTheLastBucket() {
        var histogram = LatencyHistogram()
        histogram.record(microseconds: UInt64(1) << 50)
        #expect(histogram.percentile(1.0) == (UInt64(1) << 40) - 1)
    }

    @Test func percentilesOfAUniformRange() throws {
        var histogram = LatencyHistogram()
        for value in UInt64(1)...1000 {
            histogram.record(microseconds: value)
        }
        let median = try #require(histogram.percentile(0.5))
        let p99 = try #require(histogram.percentile(0.99))
        let p0 = try #require(histogram.percentile(0))
        #expect(median >= 500)
        #expect(Double(median) <= 500 * 1.125)
        #expect(p99 >= 990)
        #expect(Double(p99) <= 990 * 1.125)
        #expect(p0 == 1)
        #expect(histogram.count == 1000)
    }

    @Test func percentileSeparatesAFewSlowValues() throws {
        var histogram = LatencyHistogram()
        for _ in 0..<98 { histogram.record(microseconds: 100) }
        for _ in 0..<2 { histogram.record(microseconds: 50_000) }
        let p50 = try #require(histogram.percentile(0.5))
        let p99 = try #require(histogram.percentile(0.99))
        #expect(p50 >= 100)
        #expect(p50 < 113)
        #expect(p99 >= 50_000)
        #expect(Double(p99) <= 50_000 * 1.125)
    }

    @Test func mergeAddsCounts() {
        var first = LatencyHistogram()
        var second = LatencyHistogram()
        first.record(microseconds: 10)
        second.record(microseconds: 20_000)
        second.record(microseconds: 20_000)
        first.merge(second)
        #expect(first.count == 3)
        #expect(first.percentile(0.3) == 10)
        #expect((first.percentile(1.0) ?? 0) >= 20_000)
    }

    @Test func resetEmptiesTheHistogram() {
        var histogram = LatencyHistogram()
        histogram.record(microseconds: 5)
        histogram.reset()
        #expect(histogram.count == 0)
        #expect(histogram.percentile(0.5) == nil)
    }

    // MARK: - WindowedHistogram

    @Test func windowedValueIsSeenWithinItsMinute() {
        var window = WindowedHistogram()
        window.record(microseconds: 500, atSecond: 100)
        #expect(window.lastMinute(atSecond: 100).count == 1)
        #expect(window.lastMinute(atSecond: 130).count == 1)
        #expect(window.lastMinute(atSecond: 159).count == 1)
    }

    @Test func windowedValueExpiresAfterSixSlots() {
        var window = WindowedHistogram()
        window.record(microseconds: 500, atSecond: 100)
        #expect(window.lastMinute(atSecond: 160).count == 0)
        #expect(window.lastMinute(atSecond: 1000).count == 0)
    }

    @Test func windowedValueLateInItsSlotExpiresWithTheSlot() {
        var window = WindowedHistogram()
        window.record(microseconds: 500, atSecond: 109)
        #expect(window.lastMinute(atSecond: 159).count == 1)
        #expect(window.lastMinute(atSecond: 160).count == 0)
    }

    @Test func reusedSlotForgetsItsOldValues() {
        var window = WindowedHistogram()
        window.record(microseconds: 500, atSecond: 100)
        window.record(microseconds: 900, atSecond: 160)
        let minute = window.lastMinute(atSecond: 160)
        #expect(minute.count == 1)
        #expect((minute.percentile(0.5) ?? 0) >= 900)
    }

    @Test func clockGoingBackResetsTheReusedSlot() {
        var window = WindowedHistogram()
        window.record(microseconds: 500, atSecond: 100)
        window.record(microseconds: 600, atSecond: 100)
        window.record(microseconds: 900, atSecond: 160)
        // A wall clock set back lands in the slot of second 100 again,
        // which now holds second 160's period, so that slot starts over.
        window.record(microseconds: 700, atSecond: 100)
        #expect(window.lastMinute(atSecond: 100).count == 1)
        #expect(window.lastMinute(atSecond: 100).percentile(1) == LatencyHistogram.upperBound(LatencyHistogram.bucketIndex(700)))
        #expect(window.lastMinute(atSecond: 160).count == 0)
    }

    @Test func windowedMergesEverySlotOfTheMinute() {
        var window = WindowedHistogram()
        for second in stride(from: Int64(200), to: 260, by: 10) {
            window.record(microseconds: 10, atSecond: second)
        }
        #expect(window.lastMinute(atSecond: 259).count == 6)
        #expect(window.lastMinute(atSecond: 260).count == 5)
    }

    // MARK: - RateCounter

    @Test func rateLeavesOutTheCurrentSecond() {
        var counter = RateCounter()
        counter.add(3, atSecond: 10)
        counter.add(5, atSecond: 11)
        #expect(counter.rate(window: 1, atSecond: 11) == 3)
        #expect(counter.rate(window: 1, atSecond: 12) == 5)
    }

    @Test func rateAveragesOverTheWindow() {
        var counter = RateCounter()
        counter.add(3, atSecond: 10)
        counter.add(5, atSecond: 11)
        #expect(counter.rate(window: 10, atSecond: 12) == 0.8)
        #expect(counter.rate(window: 60, atSecond: 12) == 8.0 / 60)
    }

    @Test func sixtySecondWindowDropsOlderCounts() {
        var counter = RateCounter()
        counter.add(6, atSecond: 100)
        #expect(counter.rate(window: 60, atSecond: 160) == 0.1)
        #expect(counter.rate(window: 60, atSecond: 161) == 0)
        #expect(counter.rate(window: 10, atSecond: 111) == 0)
    }

    @Test func reusedSecondForgetsItsOldCount() {
        var counter = RateCounter()
        counter.add(7, atSecond: 5)
        counter.add(2, atSecond: 69)
        #expect(counter.rate(window: 1, atSecond: 70) == 2)
        #expect(counter.rate(window: 1, atSecond: 6) == 0)
    }

    @Test func addAccumulatesWithinASecond() {
        var counter = RateCounter()
        counter.add(atSecond: 50)
        counter.add(atSecond: 50)
        counter.add(4, atSecond: 50)
        #expect(counter.rate(window: 1, atSecond: 51) == 6)
    }

    @Test func seriesIsOldestFirst() {
        var counter = RateCounter()
        counter.add(1, atSecond: 7)
        counter.add(2, atSecond: 9)
        #expect(counter.series(window: 4, atSecond: 10) == [0, 1, 0, 2])
    }
}
