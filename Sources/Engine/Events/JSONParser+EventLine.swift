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
        var parser = JSONParser(bytes: bytes, recordLocations: false)
        return try? parser.parseEventObject()
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

    private mutating func parseEventObject() throws(JSONSyntaxError) -> ChangeEvent? {
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
                guard case .string(let name) = try parseValue(path: ""), !name.isEmpty else { return nil }
                model = name
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
                if peek() == UInt8(ascii: "[") {
                    guard let names = try parseFieldNames() else { return nil }
                    updateFields = names
                } else {
                    guard case .null = try parseValue(path: "") else { return nil }
                }
            case .fields:
                switch try parseValue(path: "") {
                case .null: break
                case .object(let object): fields = object
                default: return nil
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
        let start = position + 1
        var end = start
        while end < bytes.count {
            let byte = bytes[end]
            if byte == UInt8(ascii: "\"") { break }
            // No event member name contains a backslash, a control character
            // or a non-ASCII byte. So the full string reader takes over here:
            // it decodes escapes and rejects invalid bytes.
            if byte == UInt8(ascii: "\\") || byte < 0x20 || byte >= 0x80 {
                return Self.eventMember(named: try parseString())
            }
            end += 1
        }
        guard end < bytes.count else { return nil }
        position = end + 1
        let name = UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(bytes)[start..<end])
        switch name.count {
        case 2: return Self.equal(name, "pk") ? .pk : nil
        case 5: return Self.equal(name, "model") ? .model : nil
        case 6: return Self.equal(name, "signal") ? .signal : Self.equal(name, "fields") ? .fields : nil
        case 7: return Self.equal(name, "created") ? .created : nil
        case 13: return Self.equal(name, "update_fields") ? .updateFields : nil
        default: return nil
        }
    }

    private static func eventMember(named name: String) -> EventMember? {
        switch name {
        case "model": return .model
        case "pk": return .pk
        case "signal": return .signal
        case "created": return .created
        case "update_fields": return .updateFields
        case "fields": return .fields
        default: return nil
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

    private static func equal(_ bytes: UnsafeRawBufferPointer, _ literal: StaticString) -> Bool {
        guard bytes.count == literal.utf8CodeUnitCount else { return false }
        for index in 0..<bytes.count where bytes[index] != literal.utf8Start[index] {
            return false
        }
        return true
    }
}
