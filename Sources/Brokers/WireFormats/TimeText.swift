/// Parses the UTC timestamps the Python systems store.
public enum TimeText {
    /// Returns seconds since the Unix epoch for `YYYY-MM-DD[T ]HH:MM:SS[.ffffff][Z|+00:00]`:
    /// RQ's `%Y-%m-%dT%H:%M:%S.%fZ` and the text Django stores for a
    /// DateTimeField in SQLite. A time with no zone is read as UTC. Returns
    /// nil for anything else.
    public static func parse(_ text: String) -> Double? {
        var bytes = Array(text.utf8)
        var offsetSeconds = 0
        if bytes.last == UInt8(ascii: "Z") {
            bytes.removeLast()
        } else if bytes.count >= 25, bytes[bytes.count - 3] == UInt8(ascii: ":"),
            bytes[bytes.count - 6] == UInt8(ascii: "+") || bytes[bytes.count - 6] == UInt8(ascii: "-")
        {
            let zone = bytes.suffix(6)
            guard let hours = number(Array(zone.dropFirst().prefix(2))), let minutes = number(Array(zone.suffix(2))) else {
                return nil
            }
            offsetSeconds = (hours * 3600 + minutes * 60) * (zone.first == UInt8(ascii: "-") ? -1 : 1)
            bytes.removeLast(6)
        }
        guard bytes.count >= 19, bytes[10] == UInt8(ascii: "T") || bytes[10] == UInt8(ascii: " "),
            let year = number(Array(bytes[0..<4])), let month = number(Array(bytes[5..<7])),
            let day = number(Array(bytes[8..<10])), let hour = number(Array(bytes[11..<13])),
            let minute = number(Array(bytes[14..<16])), let second = number(Array(bytes[17..<19]))
        else { return nil }
        var micro = 0
        if bytes.count > 19 {
            let digits = Array(bytes[20...])
            guard bytes[19] == UInt8(ascii: "."), (1...6).contains(digits.count), let value = number(digits) else {
                return nil
            }
            micro = value * [100_000, 10_000, 1000, 100, 10, 1][digits.count - 1]
        }
        let moment = PickleDateTime(
            year: year, month: month, day: day, hour: hour, minute: minute, second: second, microsecond: micro,
            utcOffsetSeconds: offsetSeconds)
        return moment.secondsSinceEpoch
    }

    private static func number(_ digits: [UInt8]) -> Int? {
        guard !digits.isEmpty, digits.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else { return nil }
        return digits.reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) }
    }
}
