/// An event line that cannot be used, and why.
public struct EventDecodingError: Error, Sendable, Equatable, CustomStringConvertible {
    public var reason: String
    public var description: String { reason }
}

/// Decodes one JSON Lines event.
///
/// The line is `{"model": ..., "pk": ..., "signal": "post_save"|"post_delete",
/// "created": bool, "update_fields": [..]|null, "fields": {..}}`; `created`,
/// `update_fields` and `fields` are optional. Unknown members are rejected,
/// so a misspelt `update_field` never silently turns a partial save into a full one.
public enum EventDecoder {
    static let allowedKeys = ["model", "pk", "signal", "created", "update_fields", "fields"]

    public static func decode(_ line: String) throws(EventDecodingError) -> ChangeEvent {
        var copy = line
        return try copy.withUTF8 { buffer in
            Result { () throws(EventDecodingError) -> ChangeEvent in try decode(buffer) }
        }.get()
    }

    /// Decodes one line of UTF-8 bytes, without its line break.
    ///
    /// A valid line is read straight into the event. Any other line is decoded
    /// again through a JSON value for the whole line, and the checks of that
    /// path give the rejection reason. Both paths give the same event for a valid line.
    public static func decode(_ bytes: UnsafeBufferPointer<UInt8>) throws(EventDecodingError) -> ChangeEvent {
        if let event = JSONParser.parseEventLine(bytes) { return event }
        return try decodeValueTree(bytes)
    }

    /// Decodes one line of UTF-8 bytes as the public `decode(_:)` does, and
    /// takes values whose text repeats an earlier line's from `cache`.
    static func decode(
        _ bytes: UnsafeBufferPointer<UInt8>, cache: inout EventLineCache
    ) throws(EventDecodingError) -> ChangeEvent {
        if let event = JSONParser.parseEventLine(bytes, cache: &cache) { return event }
        return try decodeValueTree(bytes)
    }

    /// Decodes a line by parsing it into one JSON value first: the source of
    /// every rejection reason.
    static func decodeValueTree(_ bytes: UnsafeBufferPointer<UInt8>) throws(EventDecodingError) -> ChangeEvent {
        let value: JSONValue
        do {
            value = try JSONParser.parse(bytes)
        } catch {
            throw EventDecodingError(reason: "invalid JSON at column \(error.column): \(error.reason)")
        }
        guard case .object(let object) = value else {
            throw EventDecodingError(reason: "expected a JSON object, got \(value.typeDescription)")
        }
        return try decode(object)
    }

    public static func decode(_ object: JSONObject) throws(EventDecodingError) -> ChangeEvent {
        for member in object.members where !allowedKeys.contains(member.key) {
            let key = member.key
            // Without a close name, the fix is to keep to the members an event line has.
            let hint = NameSuggestion.closest(to: key, in: allowedKeys).map { " (did you mean '\($0)'?)" }
                ?? " (an event line has only \(allowedKeys.joined(separator: ", ")))"
            throw EventDecodingError(reason: "unknown member '\(key)'\(hint)")
        }
        guard case .string(let model)? = object["model"], !model.isEmpty else {
            throw EventDecodingError(reason: "\"model\" must be a non-empty string such as \"shop.Product\", got \(show(object["model"]))")
        }
        guard let pk = object["pk"], !pk.isNull else {
            throw EventDecodingError(reason: "\"pk\" is missing or null; every event needs the record's primary key")
        }
        guard case .string(let signalName)? = object["signal"], let signal = ChangeSignal(rawValue: signalName) else {
            throw EventDecodingError(reason: "\"signal\" must be \"post_save\" or \"post_delete\", got \(show(object["signal"]))")
        }
        var event = ChangeEvent(model: model, pk: pk, signal: signal)
        switch object["created"] {
        case nil, .null?: break
        case .bool(let created)?:
            if created && signal == .postDelete {
                throw EventDecodingError(reason: "\"created\" is true on a post_delete event; only a save can create a record")
            }
            event.created = created
        case let other?:
            throw EventDecodingError(reason: "\"created\" must be true or false, got \(show(other))")
        }
        switch object["update_fields"] {
        case nil, .null?: break
        case .array(let items)?:
            var names: [String] = []
            names.reserveCapacity(items.count)
            for item in items {
                guard case .string(let name) = item else {
                    throw EventDecodingError(reason: "\"update_fields\" must list field names as strings, got \(show(item))")
                }
                names.append(name)
            }
            event.updateFields = names
        case let other?:
            throw EventDecodingError(reason: "\"update_fields\" must be a list of field names or null, got \(show(other))")
        }
        switch object["fields"] {
        case nil, .null?: break
        case .object(let fields)?: event.fields = fields
        case let other?:
            throw EventDecodingError(reason: "\"fields\" must be an object of attribute values, got \(show(other))")
        }
        return event
    }

    private static func show(_ value: JSONValue?) -> String {
        guard let value else { return "nothing" }
        let text = JSONWriter.string(value)
        return text.count > 40 ? String(text.prefix(37)) + "..." : text
    }
}
