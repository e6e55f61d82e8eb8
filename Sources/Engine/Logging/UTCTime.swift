import Foundation

/// Calendar arithmetic for UTC timestamps without `DateFormatter`, which is
/// slow and locale-dependent; wire formats and logs need fixed UTC text.
public enum UTCTime {
    /// Broken-down UTC time.
    public struct Components: Sendable, Equatable {
        public var year: Int, month: Int, day: Int
        public var hour: Int, minute: Int, second: Int
        public var microsecond: Int
    }

    /// Splits microseconds since the Unix epoch into UTC calendar fields.
    public static func components(microsecondsSinceEpoch micros: Int64) -> Components {
        let seconds = micros >= 0 ? micros / 1_000_000 : (micros - 999_999) / 1_000_000
        let microsecond = Int(micros - seconds * 1_000_000)
        var days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = Int(seconds - days * 86_400)
        // Civil-from-days conversion (proleptic Gregorian calendar).
        days += 719_468
        let era = (days >= 0 ? days : days - 146_096) / 146_097
        let dayOfEra = days - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = Int(dayOfYear - (153 * monthIndex + 2) / 5 + 1)
        let month = Int(monthIndex < 10 ? monthIndex + 3 : monthIndex - 9)
        let year = Int(yearOfEra + era * 400) + (month <= 2 ? 1 : 0)
        return Components(
            year: year, month: month, day: day,
            hour: secondOfDay / 3600, minute: secondOfDay / 60 % 60, second: secondOfDay % 60,
            microsecond: microsecond)
    }

    /// Formats as `2026-12-04T15:29:30.514Z`.
    public static func iso8601(millisecondsSinceEpoch millis: Int64) -> String {
        let parts = components(microsecondsSinceEpoch: millis * 1000)
        return "\(datePart(parts))T\(timePart(parts)).\(pad(parts.microsecond / 1000, 3))Z"
    }

    /// Formats as `2026-12-04T15:29:30.514714Z`, the form RQ stores.
    public static func iso8601Micro(microsecondsSinceEpoch micros: Int64) -> String {
        let parts = components(microsecondsSinceEpoch: micros)
        return "\(datePart(parts))T\(timePart(parts)).\(pad(parts.microsecond, 6))Z"
    }

    /// Returns ``iso8601Micro(microsecondsSinceEpoch:)`` as UTF-8 bytes,
    /// written digit by digit for years 0 to 9999 (the text is the same).
    public static func iso8601MicroBytes(microsecondsSinceEpoch micros: Int64) -> [UInt8] {
        let parts = components(microsecondsSinceEpoch: micros)
        guard (0...9999).contains(parts.year) else { return Array(iso8601Micro(microsecondsSinceEpoch: micros).utf8) }
        return [UInt8](unsafeUninitializedCapacity: 27) { bytes, count in
            var offset = 0
            func put(_ number: Int, _ width: Int) {
                var rest = number
                for position in stride(from: offset + width - 1, through: offset, by: -1) {
                    bytes[position] = UInt8(ascii: "0") + UInt8(rest % 10)
                    rest /= 10
                }
                offset += width
            }
            func put(_ byte: Unicode.Scalar) {
                bytes[offset] = UInt8(ascii: byte)
                offset += 1
            }
            put(parts.year, 4)
            put("-")
            put(parts.month, 2)
            put("-")
            put(parts.day, 2)
            put("T")
            put(parts.hour, 2)
            put(":")
            put(parts.minute, 2)
            put(":")
            put(parts.second, 2)
            put(".")
            put(parts.microsecond, 6)
            put("Z")
            count = offset
        }
    }

    /// Formats as `15:29:30`, for the console.
    public static func clock(secondsSinceEpoch seconds: Double) -> String {
        timePart(components(microsecondsSinceEpoch: Int64(seconds * 1_000_000)))
    }

    /// Current time in microseconds since the Unix epoch.
    public static func nowMicroseconds() -> Int64 {
        Int64((Date().timeIntervalSince1970 * 1_000_000).rounded(.down))
    }

    private static func datePart(_ parts: Components) -> String {
        "\(pad(parts.year, 4))-\(pad(parts.month, 2))-\(pad(parts.day, 2))"
    }

    private static func timePart(_ parts: Components) -> String {
        "\(pad(parts.hour, 2)):\(pad(parts.minute, 2)):\(pad(parts.second, 2))"
    }

    private static func pad(_ number: Int, _ width: Int) -> String {
        let text = String(number)
        return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
    }
}
