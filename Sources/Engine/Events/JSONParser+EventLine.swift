/// Reading an event line straight into a ``ChangeEvent``.
///
/// The six members are read as they come, in any order, and no JSON value is
/// built for the whole line. Only `pk` and the values of `fields` become
/// ``JSONValue``s, because the engine reads them in that form.
///
/// The reader takes only lines that ``EventDecoder/decodeValueTree(_:)``
/// accepts, and returns the same event for them. It returns nil for any other
/// line: bad syntax, a missing, unknown or repeated member, or a value of the
/// wrong type. The caller then decodes that line through the value tree, so
/// every rejection reason, column included, comes from one place.
extension JSONParser {
    /// Returns the event on `bytes`, or nil when the line must go through
    /// the value tree instead, which then rejects it.
    static func parseEventLine(_ bytes: UnsafeBufferPointer<UInt8>) -> ChangeEvent? {
        var cache = EventLineCache()
        return parseEventLine(bytes, cache: &cache)
    }

    /// Returns the event on `bytes`, or nil when the line must go through
    /// the value tree instead. Values whose text repeats text in `cache` are
    /// taken from there, and `cache` takes this line's values.
    static func parseEventLine(_ bytes: UnsafeBufferPointer<UInt8>, cache: inout EventLineCache) -> ChangeEvent? {
        var parser = JSONParser(bytes: bytes, recordLocations: false)
        return try? parser.parseEventObject(cache: &cache)
    }

    /// A member an event line may have. The raw value is the member's bit in
    /// the set of members seen so far.
    private enum EventMember: UInt8 {
        case model = 1
        case pk = 2
        case signal = 4
        case created = 8
        case updateFields = 16
        case fields = 32
    }

    private mutating func parseEventObject(cache: inout EventLineCache) throws(JSONSyntaxError) -> ChangeEvent? {
        skipWhitespace()
        guard peek() == UInt8(ascii: "{") else { return nil }
        try enterContainer()
        position += 1
        var seen: UInt8 = 0
        var model: String?
        var pk: JSONValue?
        var signal: ChangeSignal?
        var created = false
        var updateFields: [String]?
        var fields = JSONObject()
        while true {
            skipWhitespace()
            guard let member = try parseEventMemberName(), seen & member.rawValue == 0 else { return nil }
            seen |= member.rawValue
            skipWhitespace()
            guard peek() == UInt8(ascii: ":") else { return nil }
            position += 1
            skipWhitespace()

            switch member {
            case .model:
                if let name = skipRecent(cache.models) {
                    model = name
                } else {
                    let start = position
                    guard case .string(let name) = try parseValue(path: ""), !name.isEmpty else { return nil }
                    model = name
                    cache.models.remember(name, text: UnsafeBufferPointer(rebasing: bytes[start..<position]))
                }
            case .pk:
                let value = try parseValue(path: "")
                guard !value.isNull else { return nil }
                pk = value
            case .signal:
                guard let value = try parseSignal() else { return nil }
                signal = value
            case .created:
                switch try parseValue(path: "") {
                case .null: break
                case .bool(let flag): created = flag
                default: return nil
                }
            case .updateFields:
                if let names = skipRecent(cache.updateFields) {
                    updateFields = names
                } else if peek() == UInt8(ascii: "[") {
                    let start = position
                    guard let names = try parseFieldNames() else { return nil }
                    updateFields = names
                    cache.updateFields.remember(names, text: UnsafeBufferPointer(rebasing: bytes[start..<position]))
                } else {
                    guard case .null = try parseValue(path: "") else { return nil }
                }
            case .fields:
                if peek() == UInt8(ascii: "{") {
                    guard let object = try parseFields(names: &cache.fieldNames) else { return nil }
                    fields = object
                } else {
                    guard case .null = try parseValue(path: "") else { return nil }
                }
            }

            skipWhitespace()
            guard let separator = peek() else { return nil }
            position += 1
            if separator == UInt8(ascii: "}") { break }
            guard separator == UInt8(ascii: ",") else { return nil }
        }
        depth -= 1
        skipWhitespace()
        guard position == bytes.count, let model, let pk, let signal else { return nil }
        guard !(created && signal == .postDelete) else { return nil }
        return ChangeEvent(
            model: model, pk: pk, signal: signal, created: created, updateFields: updateFields, fields: fields)
    }

    /// Reads a member name and returns the event member it names, or nil for
    /// any other name. A name with escapes is decoded first, so
    /// `"mod\u0065l"` is `model`, as it is in the value tree.
    private mutating func parseEventMemberName() throws(JSONSyntaxError) -> EventMember? {
        guard peek() == UInt8(ascii: "\"") else { return nil }
        // Most lines write the names plainly: try the name that starts with
        // the first letter, with its closing quote.
        switch position + 1 < bytes.count ? bytes[position + 1] : 0 {
        case UInt8(ascii: "m"): if matchAfterQuote("model\"") { return .model }
        case UInt8(ascii: "p"): if matchAfterQuote("pk\"") { return .pk }
        case UInt8(ascii: "s"): if matchAfterQuote("signal\"") { return .signal }
        case UInt8(ascii: "c"): if matchAfterQuote("created\"") { return .created }
        case UInt8(ascii: "u"): if matchAfterQuote("update_fields\"") { return .updateFields }
        case UInt8(ascii: "f"): if matchAfterQuote("fields\"") { return .fields }
        default: break
        }

        // Any other name is an event member only when it is written with
        // escapes. The string reader decodes them and rejects invalid bytes.
        var name = try parseString()
        return name.withUTF8 { name in
            let name = UnsafeRawBufferPointer(name)
            // Compared by bytes, because Swift's `==` compares by canonical
            // equivalence. Any other name goes to the value tree, which decides.
            switch name.count {
            case 2: return Self.equal(name, "pk") ? .pk : nil
            case 5: return Self.equal(name, "model") ? .model : nil
            case 6: return Self.equal(name, "signal") ? .signal : Self.equal(name, "fields") ? .fields : nil
            case 7: return Self.equal(name, "created") ? .created : nil
            case 13: return Self.equal(name, "update_fields") ? .updateFields : nil
            default: return nil
            }
        }
    }

    /// Reads the `signal` value. Returns nil when it is not a string naming a signal.
    private mutating func parseSignal() throws(JSONSyntaxError) -> ChangeSignal? {
        guard peek() == UInt8(ascii: "\"") else { return nil }
        // Each name is matched with its closing quote. Neither contains a
        // character that needs an escape, so a match is the whole string.
        if matchAfterQuote("post_save\"") { return .postSave }
        if matchAfterQuote("post_delete\"") { return .postDelete }
        return ChangeSignal(rawValue: try parseString())
    }

    /// Reads the `fields` object as `parseObject` reads an object, or returns
    /// nil where that would throw.
    ///
    /// A member name whose text repeats the name at the same place in the
    /// last `fields` object is taken from `names`. `names` never contains a
    /// name twice, so while every name so far repeats the kept ones, no name
    /// is repeated in this object either. The check for a repeated name
    /// therefore starts at the first name that differs.
    private mutating func parseFields(names: inout [RecentValues<String>.Entry]) throws(JSONSyntaxError) -> JSONObject? {
        try enterContainer()
        position += 1
        var object = JSONObject(capacity: names.count)
        var sameNames = true
        skipWhitespace()
        if peek() == UInt8(ascii: "}") {
            position += 1
            depth -= 1
            return object
        }
        while true {
            skipWhitespace()
            guard peek() == UInt8(ascii: "\"") else { return nil }
            let index = object.count
            let name: String
            var text: Range<Int>?
            if sameNames, index < names.count, skip(names[index].text) {
                name = names[index].value
            } else {
                let start = position
                name = try parseString()
                text = start..<position
                if sameNames {
                    sameNames = false
                    names.removeSubrange(index...)
                }
            }
            skipWhitespace()
            guard peek() == UInt8(ascii: ":") else { return nil }
            position += 1
            skipWhitespace()
            if let text {
                guard object[name] == nil else { return nil }
                // Only a name that repeats none before it is kept, so the
                // kept names never repeat one another.
                if names.count == index, text.count <= RecentValues<String>.maximumText {
                    names.append(.init(text: Array(UnsafeBufferPointer(rebasing: bytes[text])), value: name))
                }
            }
            object.appendUnchecked(name, try parseValue(path: ""))

            skipWhitespace()
            guard let separator = peek() else { return nil }
            position += 1
            if separator == UInt8(ascii: "}") { break }
            guard separator == UInt8(ascii: ",") else { return nil }
        }
        depth -= 1
        if sameNames && names.count > object.count { names.removeSubrange(object.count...) }
        return object
    }

    /// Reads a list of strings. Returns nil when an item is not a string.
    private mutating func parseFieldNames() throws(JSONSyntaxError) -> [String]? {
        try enterContainer()
        position += 1
        var names: [String] = []
        skipWhitespace()
        if peek() == UInt8(ascii: "]") {
            position += 1
            depth -= 1
            return names
        }
        while true {
            skipWhitespace()
            guard peek() == UInt8(ascii: "\"") else { return nil }
            names.append(try parseString())
            skipWhitespace()
            guard let separator = peek() else { return nil }
            position += 1
            if separator == UInt8(ascii: "]") { break }
            guard separator == UInt8(ascii: ",") else { return nil }
        }
        depth -= 1
        return names
    }

    /// Moves past the opening quote and `literal` when the input continues
    /// with exactly them.
    private mutating func matchAfterQuote(_ literal: StaticString) -> Bool {
        let start = position + 1
        let count = literal.utf8CodeUnitCount
        guard start + count <= bytes.count else { return false }
        let candidate = UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(bytes)[start..<start + count])
        guard Self.equal(candidate, literal) else { return false }
        position = start + count
        return true
    }

    /// Moves past the text of a recent value when the input continues with
    /// exactly that text, and returns the value.
    ///
    /// A JSON value's extent and meaning follow from its own bytes alone, so
    /// the same bytes here are the same value.
    private mutating func skipRecent<Value>(_ recent: RecentValues<Value>) -> Value? {
        for entry in recent.entries where skip(entry.text) {
            return entry.value
        }
        return nil
    }

    /// Moves past `text` when the input continues with exactly it.
    @inline(__always)
    private mutating func skip(_ text: [UInt8]) -> Bool {
        guard position + text.count <= bytes.count else { return false }
        let matches = text.withUnsafeBytes { earlier in
            Self.equal(UnsafeRawBufferPointer(start: bytes.baseAddress! + position, count: earlier.count), earlier)
        }
        if matches { position += text.count }
        return matches
    }

    @inline(__always)
    private static func equal(_ bytes: UnsafeRawBufferPointer, _ literal: StaticString) -> Bool {
        equal(bytes, UnsafeRawBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount))
    }

    /// Compares two byte ranges eight bytes at a time.
    @inline(__always)
    private static func equal(_ left: UnsafeRawBufferPointer, _ right: UnsafeRawBufferPointer) -> Bool {
        guard left.count == right.count else { return false }
        guard left.count >= 8 else {
            guard left.count >= 4 else {
                for index in 0..<left.count where left[index] != right[index] {
                    return false
                }
                return true
            }
            // Four to seven bytes: the first and the last four, which may overlap.
            let last = left.count - 4
            return left.loadUnaligned(as: UInt32.self) == right.loadUnaligned(as: UInt32.self)
                && left.loadUnaligned(fromByteOffset: last, as: UInt32.self)
                    == right.loadUnaligned(fromByteOffset: last, as: UInt32.self)
        }
        var offset = 0
        while true {
            // The last word overlaps the one before it when the count is not
            // a multiple of eight.
            if left.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
                != right.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
            {
                return false
            }
            if offset == left.count - 8 { return true }
            offset = min(offset + 8, left.count - 8)
        }
    }
}

/// Values read from earlier event lines, with their exact text.
///
/// Event streams repeat the same `model`, `update_fields` and `fields` member
/// names line after line. A line that repeats the text reuses the value, and
/// its storage, instead of decoding and allocating it again.
struct EventLineCache {
    fileprivate var models = RecentValues<String>(limit: 8)
    fileprivate var updateFields = RecentValues<[String]>(limit: 4)
    /// The member names of the last `fields` object, in order.
    fileprivate var fieldNames: [RecentValues<String>.Entry] = []

    init() {}
}

/// The last few values read, each with the exact text it was read from.
struct RecentValues<Value> {
    struct Entry {
        var text: [UInt8]
        var value: Value
    }

    /// Text longer than this is not kept, so that a long value is not copied
    /// on every line.
    static var maximumText: Int { 256 }

    fileprivate private(set) var entries: [Entry] = []
    private let limit: Int
    private var nextReplaced = 0

    fileprivate init(limit: Int) {
        self.limit = limit
    }

    /// Keeps `value`, read from `text`, in place of the oldest value once
    /// `limit` values are kept.
    fileprivate mutating func remember(_ value: Value, text: UnsafeBufferPointer<UInt8>) {
        guard text.count <= Self.maximumText else { return }
        guard entries.count == limit else {
            entries.append(Entry(text: Array(text), value: value))
            return
        }
        entries[nextReplaced].text.removeAll(keepingCapacity: true)
        entries[nextReplaced].text.append(contentsOf: text)
        entries[nextReplaced].value = value
        nextReplaced = (nextReplaced + 1) % limit
    }
}
