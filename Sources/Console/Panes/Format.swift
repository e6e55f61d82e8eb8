import Engine

/// Short number, time and value texts for table cells.
enum Format {
    /// Formats a count in at most 6 characters: `999999`, then `1.2M`.
    static func count<Number: BinaryInteger>(_ value: Number) -> String {
        let number = Int64(value)
        if number < 1_000_000 { return String(number) }
        if number < 1_000_000_000 { return decimal(Double(number) / 1_000_000) + "M" }
        return decimal(Double(number) / 1_000_000_000) + "G"
    }

    /// Formats a count in at most 4 characters, for narrow columns whose
    /// exact figure the detail view shows: `9999`, `30k`, `295k`, `1.2M`, `12M`.
    static func shortCount<Number: BinaryInteger>(_ value: Number) -> String {
        let number = Int64(value)
        if number < 10_000 { return String(number) }
        if number < 1_000_000 { return "\(number / 1000)k" }
        if number < 10_000_000 {
            let tenths = number / 100_000
            return "\(tenths / 10).\(tenths % 10)M"
        }
        if number < 1_000_000_000 { return "\(number / 1_000_000)M" }
        return "\(number / 1_000_000_000)G"
    }

    /// Formats a duration given in microseconds: `850us`, `12ms`, `1.5s`; `-` when unknown.
    static func micros(_ value: UInt64?, ascii: Bool = false) -> String {
        guard let value else { return "-" }
        if value < 1000 { return "\(value)" + (ascii ? "us" : "µs") }
        if value < 1_000_000 { return "\(value / 1000)ms" }
        return decimal(Double(value) / 1_000_000) + "s"
    }

    /// Formats an age in seconds: `0s`, `42s`, `3m05s`, `2h10m`.
    static func age(_ seconds: Double) -> String {
        let whole = max(0, Int(seconds.rounded(.down)))
        if whole < 60 { return "\(whole)s" }
        if whole < 3600 { return "\(whole / 60)m" + pad2(whole % 60) + "s" }
        return "\(whole / 3600)h" + pad2(whole / 60 % 60) + "m"
    }

    /// Formats a rate per second: `0`, `4.5`, `40`, `1.2k`.
    static func rate(_ value: Double) -> String {
        if value <= 0 { return "0" }
        if value < 10 { return decimal(value) }
        if value < 1000 { return String(Int(value.rounded())) }
        return decimal(value / 1000) + "k"
    }

    /// Formats a wall-clock time in UTC: `12:03:41`.
    static func clock(_ seconds: Double) -> String {
        UTCTime.clock(secondsSinceEpoch: seconds)
    }

    /// Returns a count with its noun in the singular or the plural:
    /// `1 attempt`, `3 attempts`, `2 batches` with `plural` given.
    static func counted(_ value: Int, _ singular: String, plural: String? = nil) -> String {
        "\(value) " + (value == 1 ? singular : plural ?? singular + "s")
    }

    /// Formats with one decimal place, dropped when it is zero.
    static func decimal(_ value: Double) -> String {
        let tenths = Int((value * 10).rounded())
        return tenths % 10 == 0 ? String(tenths / 10) : "\(tenths / 10).\(tenths % 10)"
    }

    private static func pad2(_ value: Int) -> String {
        value < 10 ? "0\(value)" : String(value)
    }
}

/// The demo event rate in words.
enum DemoRate {
    /// Returns "1 event/s", "2.5 events/s", "40 events/s", "1.3k events/s".
    static func text(_ rate: Double) -> String {
        let shown = Format.rate(rate)
        return shown == "1" ? "1 event/s" : "\(shown) events/s"
    }
}
