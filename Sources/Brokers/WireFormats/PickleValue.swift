import Engine

/// A Python value that the pickle encoder writes and the decoder reads back.
///
/// Only the types that task payloads carry: None, bool, int, float, str,
/// bytes, tuple, list, dict and datetime. Dicts keep their insertion order,
/// as Python's do.
public indirect enum PickleValue: Sendable, Equatable {
    case none
    case bool(Bool)
    case int(Int64)
    case float(Double)
    case string(String)
    case bytes([UInt8])
    case tuple([PickleValue])
    case list([PickleValue])
    case dict([PickleEntry])
    case datetime(PickleDateTime)
    /// `datetime.timedelta(days, seconds, microseconds)`; only seen as a
    /// datetime's time zone offset.
    case timedelta(days: Int64, seconds: Int64, microseconds: Int64)
    /// `datetime.timezone(offset)`, with the offset in seconds east of UTC.
    case timezone(offsetSeconds: Int)

    /// Looks up a dict member by string key.
    public subscript(key: String) -> PickleValue? {
        guard case .dict(let entries) = self else { return nil }
        return entries.last { $0.key == .string(key) }?.value
    }

    public var stringValue: String? {
        if case .string(let text) = self { return text }
        return nil
    }

    /// The items of a tuple or list.
    public var items: [PickleValue]? {
        switch self {
        case .tuple(let items), .list(let items): return items
        default: return nil
        }
    }
}

/// One key-value pair of a pickled dict.
public struct PickleEntry: Sendable, Equatable {
    public var key: PickleValue
    public var value: PickleValue

    public init(_ key: PickleValue, _ value: PickleValue) {
        self.key = key
        self.value = value
    }
}

/// A `datetime.datetime`: calendar fields plus an optional fixed UTC offset.
public struct PickleDateTime: Sendable, Equatable {
    public var year: Int, month: Int, day: Int
    public var hour: Int, minute: Int, second: Int
    public var microsecond: Int
    /// Seconds east of UTC; nil for a naive datetime.
    public var utcOffsetSeconds: Int?

    public init(
        year: Int, month: Int, day: Int, hour: Int = 0, minute: Int = 0, second: Int = 0, microsecond: Int = 0,
        utcOffsetSeconds: Int? = 0
    ) {
        self.year = year
        self.month = month
        self.day = day
        self.hour = hour
        self.minute = minute
        self.second = second
        self.microsecond = microsecond
        self.utcOffsetSeconds = utcOffsetSeconds
    }

    /// An aware UTC datetime for a time in microseconds since the Unix epoch.
    public init(utcMicroseconds micros: Int64) {
        let parts = UTCTime.components(microsecondsSinceEpoch: micros)
        self.init(
            year: parts.year, month: parts.month, day: parts.day, hour: parts.hour, minute: parts.minute,
            second: parts.second, microsecond: parts.microsecond, utcOffsetSeconds: 0)
    }

    /// Seconds since the Unix epoch, reading a naive datetime as UTC.
    public var secondsSinceEpoch: Double {
        let days = Self.daysFromCivil(year: year, month: month, day: day)
        let local = Double(days * 86_400 + Int64(hour * 3600 + minute * 60 + second)) + Double(microsecond) / 1e6
        return local - Double(utcOffsetSeconds ?? 0)
    }

    /// ISO 8601 text such as `2026-12-04T15:00:00.000000+00:00`, Python's `isoformat` with microseconds.
    public var isoFormat: String {
        func pad(_ number: Int, _ width: Int) -> String {
            let text = String(number)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        var text = "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(hour, 2)):\(pad(minute, 2)):\(pad(second, 2))"
        text += ".\(pad(microsecond, 6))"
        if let offset = utcOffsetSeconds {
            let sign = offset < 0 ? "-" : "+"
            let magnitude = abs(offset)
            text += "\(sign)\(pad(magnitude / 3600, 2)):\(pad(magnitude / 60 % 60, 2))"
        }
        return text
    }

    /// Days since 1970-01-01 in the proleptic Gregorian calendar.
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int64 {
        let shiftedYear = Int64(month <= 2 ? year - 1 : year)
        let era = (shiftedYear >= 0 ? shiftedYear : shiftedYear - 399) / 400
        let yearOfEra = shiftedYear - era * 400
        let monthIndex = Int64(month > 2 ? month - 3 : month + 9)
        let dayOfYear = (153 * monthIndex + 2) / 5 + Int64(day) - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}

// MARK: - JSON

extension PickleValue {
    /// The pickle form of a JSON value: objects become dicts with str keys,
    /// arrays become lists, and integers and floats stay apart.
    public init(json: JSONValue) {
        switch json {
        case .null: self = .none
        case .bool(let flag): self = .bool(flag)
        case .int(let number): self = .int(number)
        case .double(let number): self = .float(number)
        case .string(let text): self = .string(text)
        case .array(let items): self = .list(items.map(PickleValue.init(json:)))
        case .object(let object):
            self = .dict(object.members.map { PickleEntry(.string($0.key), PickleValue(json: $0.value)) })
        }
    }

    /// The JSON form of the value, for display and for rebuilding batches.
    ///
    /// Tuples become arrays, bytes become a string when they are UTF-8 (the
    /// console shows anything else by type), datetimes become ISO 8601
    /// text, and dict keys that are ints or floats become their decimal text.
    /// - Throws: ``WireFormatError`` for a dict key of another type.
    public func json() throws(WireFormatError) -> JSONValue {
        switch self {
        case .none: return .null
        case .bool(let flag): return .bool(flag)
        case .int(let number): return .int(number)
        case .float(let number): return .double(number)
        case .string(let text): return .string(text)
        case .bytes(let data):
            if let text = String(validating: data, as: UTF8.self) { return .string(text) }
            return .string("<\(data.count) bytes>")
        case .tuple(let items), .list(let items):
            var converted: [JSONValue] = []
            for item in items { converted.append(try item.json()) }
            return .array(converted)
        case .dict(let entries):
            var object = JSONObject()
            for entry in entries {
                object[try Self.jsonKey(entry.key)] = try entry.value.json()
            }
            return .object(object)
        case .datetime(let moment): return .string(moment.isoFormat)
        case .timedelta(let days, let seconds, let microseconds):
            return .double(Double(days) * 86_400 + Double(seconds) + Double(microseconds) / 1e6)
        case .timezone(let offset): return .int(Int64(offset))
        }
    }

    private static func jsonKey(_ key: PickleValue) throws(WireFormatError) -> String {
        switch key {
        case .string(let text): return text
        case .int(let number): return String(number)
        case .float(let number): return RestflowKeyText.pythonFloat(number)
        case .bool(let flag): return flag ? "True" : "False"
        case .none: return "None"
        default: throw WireFormatError(format: "pickle", "a dict key of this type has no JSON form")
        }
    }
}
