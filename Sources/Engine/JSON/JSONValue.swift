/// A JSON value that keeps what the engine needs and Foundation's JSON types lose.
///
/// Integers and floating-point numbers stay apart (`42` and `42.0` encode
/// differently in pickle and in Python's `str`), and objects keep the order of
/// their members, because restflow sends rule arguments in `field_mapping` order.
public enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)

    /// The JSON type name used in error messages: "null", "a boolean", "a string", ...
    public var typeDescription: String {
        switch self {
        case .null: return "null"
        case .bool: return "a boolean"
        case .int: return "an integer"
        case .double: return "a number"
        case .string: return "a string"
        case .array: return "a list"
        case .object: return "an object"
        }
    }

    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    public var stringValue: String? {
        if case .string(let text) = self { return text }
        return nil
    }

    public var boolValue: Bool? {
        if case .bool(let flag) = self { return flag }
        return nil
    }

    /// The value as an integer when it is an integer, or a float with no fraction.
    public var intValue: Int64? {
        switch self {
        case .int(let number): return number
        case .double(let number) where number.rounded() == number && abs(number) < 9.0e18:
            return Int64(number)
        default: return nil
        }
    }

    public var objectValue: JSONObject? {
        if case .object(let object) = self { return object }
        return nil
    }

    public var arrayValue: [JSONValue]? {
        if case .array(let items) = self { return items }
        return nil
    }

    /// Looks up a member when this value is an object.
    public subscript(key: String) -> JSONValue? {
        objectValue?[key]
    }

    /// Compares two values the way invalidation conditions do.
    ///
    /// Numbers compare by value (`1` equals `1.0`), booleans never equal
    /// numbers, strings compare exactly (Unicode scalar by scalar), and lists and objects compare member
    /// by member (objects regardless of member order).
    public func matches(_ other: JSONValue) -> Bool {
        switch (self, other) {
        case (.null, .null): return true
        case (.bool(let left), .bool(let right)): return left == right
        case (.int(let left), .int(let right)): return left == right
        case (.int(let left), .double(let right)): return Double(left) == right
        case (.double(let left), .int(let right)): return left == Double(right)
        case (.double(let left), .double(let right)): return left == right
        case (.string(let left), .string(let right)):
            // Swift's `==` treats canonically equivalent strings ("é" and
            // "e" + U+0301) as equal. Python compares code points, and so does this.
            return left.unicodeScalars.elementsEqual(right.unicodeScalars)
        case (.array(let left), .array(let right)):
            return left.count == right.count && zip(left, right).allSatisfy { $0.matches($1) }
        case (.object(let left), .object(let right)):
            guard left.count == right.count else { return false }
            return left.allSatisfy { member in right[member.key].map { member.value.matches($0) } ?? false }
        default: return false
        }
    }
}

/// One member of a JSON object.
public struct JSONMember: Sendable, Hashable {
    public var key: String
    public var value: JSONValue

    public init(_ key: String, _ value: JSONValue) {
        self.key = key
        self.value = value
    }
}

/// A JSON object that keeps its members in document order.
///
/// Lookups are linear: the objects the engine handles (event fields, rule
/// arguments, settings blocks) have a handful of members, where a scan beats
/// hashing. A repeated key keeps its last value, as Python's `json` does.
public struct JSONObject: Sendable, Hashable, Sequence {
    public private(set) var members: [JSONMember]

    public init() {
        members = []
    }

    /// Creates an empty object with room for `capacity` members.
    public init(capacity: Int) {
        members = []
        members.reserveCapacity(capacity)
    }

    public init(_ pairs: [(String, JSONValue)]) {
        members = []
        members.reserveCapacity(pairs.count)
        for (key, value) in pairs {
            self[key] = value
        }
    }

    public var count: Int { members.count }
    public var isEmpty: Bool { members.isEmpty }
    public var keys: [String] { members.map(\.key) }

    public subscript(key: String) -> JSONValue? {
        get {
            // Comparing UTF-8 lengths first skips most unequal names
            // without calling into the full string comparison.
            let length = key.utf8.count
            for member in members where member.key.utf8.count == length && member.key == key {
                return member.value
            }
            return nil
        }
        set {
            let length = key.utf8.count
            if let index = members.firstIndex(where: { $0.key.utf8.count == length && $0.key == key }) {
                if let newValue {
                    members[index].value = newValue
                } else {
                    members.remove(at: index)
                }
            } else if let newValue {
                members.append(JSONMember(key, newValue))
            }
        }
    }

    public mutating func reserveCapacity(_ count: Int) {
        members.reserveCapacity(count)
    }

    /// Appends a member without looking for an existing one; the caller
    /// guarantees the key is new.
    public mutating func appendUnchecked(_ key: String, _ value: JSONValue) {
        members.append(JSONMember(key, value))
    }

    /// Returns a copy with the members sorted by key.
    public func sortedByKey() -> JSONObject {
        var copy = self
        copy.members.sort { $0.key < $1.key }
        return copy
    }

    public func makeIterator() -> IndexingIterator<[JSONMember]> {
        members.makeIterator()
    }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByFloatLiteral, ExpressibleByNilLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int64) { self = .int(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(nilLiteral: ()) { self = .null }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) { self = .object(JSONObject(elements)) }
}
