/// A fixed-size histogram of durations in microseconds with log-linear
/// buckets: exact below 16 µs, then 8 buckets per power of two, so a
/// percentile is off by at most 12.5 %. Its memory is constant whatever it records.
public struct LatencyHistogram: Sendable, Equatable {
    static let linearLimit: UInt64 = 16
    static let subBuckets = 8
    /// Covers up to 2^40 µs (about 12.7 days); longer values land in the last bucket.
    static let bucketCount = 16 + (40 - 4) * 8

    private(set) var buckets: [UInt32]
    public private(set) var count: UInt64 = 0

    public init() {
        buckets = [UInt32](repeating: 0, count: Self.bucketCount)
    }

    public mutating func record(microseconds value: UInt64) {
        let index = Self.bucketIndex(value)
        buckets[index] &+= 1
        count += 1
    }

    public mutating func merge(_ other: LatencyHistogram) {
        guard other.count > 0 else { return }
        for index in buckets.indices {
            buckets[index] &+= other.buckets[index]
        }
        count += other.count
    }

    public mutating func reset() {
        if count == 0 { return }
        for index in buckets.indices { buckets[index] = 0 }
        count = 0
    }

    /// The upper bound of the bucket holding the `quantile` (0...1), or nil when empty.
    public func percentile(_ quantile: Double) -> UInt64? {
        guard count > 0 else { return nil }
        let rank = max(1, UInt64((Double(count) * quantile).rounded(.up)))
        var seen: UInt64 = 0
        for (index, bucketCount) in buckets.enumerated() {
            seen += UInt64(bucketCount)
            if seen >= rank { return Self.upperBound(index) }
        }
        return Self.upperBound(buckets.count - 1)
    }

    static func bucketIndex(_ value: UInt64) -> Int {
        if value < linearLimit { return Int(value) }
        let exponent = 63 - value.leadingZeroBitCount
        let shift = exponent - 3
        let sub = Int((value >> UInt64(shift)) & 7)
        let index = 16 + (exponent - 4) * subBuckets + sub
        return min(index, bucketCount - 1)
    }

    static func upperBound(_ index: Int) -> UInt64 {
        if index < Int(linearLimit) { return UInt64(index) }
        let exponent = (index - 16) / subBuckets + 4
        let sub = UInt64((index - 16) % subBuckets)
        let base = UInt64(1) << UInt64(exponent)
        let step = base / 8
        return base + (sub + 1) * step - 1
    }
}

/// A latency histogram over the last minute: six 10-second slots, the oldest
/// reused as time moves on.
public struct WindowedHistogram: Sendable {
    static let slotSeconds: Int64 = 10
    static let slotCount = 6

    private var slots = [LatencyHistogram](repeating: LatencyHistogram(), count: slotCount)
    private var slotStart = [Int64](repeating: Int64.min, count: slotCount)
    /// The second of the last value recorded and its slot, already reset
    /// for that second's period, so values in the same second skip the
    /// division and the check.
    private var lastSecond = Int64.min
    private var lastSlot = 0

    public init() {}

    public mutating func record(microseconds value: UInt64, atSecond second: Int64) {
        if second != lastSecond {
            let period = second / Self.slotSeconds
            let index = Int(euclideanRemainder(period, Int64(Self.slotCount)))
            if slotStart[index] != period {
                slots[index].reset()
                slotStart[index] = period
            }
            lastSecond = second
            lastSlot = index
        }
        slots[lastSlot].record(microseconds: value)
    }

    /// Returns the values recorded in the current 10-second slot and the five
    /// before it, so a value stays in for 50 to 60 seconds.
    public func lastMinute(atSecond second: Int64) -> LatencyHistogram {
        let period = second / Self.slotSeconds
        var merged = LatencyHistogram()
        for index in slots.indices where slotStart[index] > period - Int64(Self.slotCount) && slotStart[index] <= period {
            merged.merge(slots[index])
        }
        return merged
    }
}

/// Counts per second over the last 64 seconds, for rates over 1, 10 and 60 s.
public struct RateCounter: Sendable {
    static let capacity = 64
    private var counts = [UInt32](repeating: 0, count: capacity)
    private var seconds = [Int64](repeating: Int64.min, count: capacity)

    public init() {}

    public mutating func add(_ amount: UInt32 = 1, atSecond second: Int64) {
        let index = Self.slot(of: second)
        if seconds[index] != second {
            seconds[index] = second
            counts[index] = 0
        }
        counts[index] &+= amount
    }

    /// The mean per second over the `window` whole seconds before `second`
    /// (the current, partial second is left out).
    public func rate(window: Int, atSecond second: Int64) -> Double {
        var total: UInt64 = 0
        for offset in 1...Int64(window) {
            let target = second - offset
            let index = Self.slot(of: target)
            if seconds[index] == target { total += UInt64(counts[index]) }
        }
        return Double(total) / Double(window)
    }

    /// The counts of the last `window` whole seconds, oldest first, for sparklines.
    public func series(window: Int, atSecond second: Int64) -> [UInt32] {
        (1...Int64(window)).reversed().map { offset in
            let target = second - offset
            let index = Self.slot(of: target)
            return seconds[index] == target ? counts[index] : 0
        }
    }

    /// Returns the ring index of `second`, never negative, also for a second
    /// before the clock's zero (a window reaching back past 0).
    private static func slot(of second: Int64) -> Int {
        Int(euclideanRemainder(second, Int64(capacity)))
    }
}

/// Returns the remainder of `value / divisor` in `0..<divisor`, also for a negative `value`.
func euclideanRemainder(_ value: Int64, _ divisor: Int64) -> Int64 {
    let remainder = value % divisor
    return remainder < 0 ? remainder + divisor : remainder
}
