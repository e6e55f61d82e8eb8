/// Which model signal an event stands for.
public enum ChangeSignal: String, Sendable, CaseIterable {
    case postSave = "post_save"
    case postDelete = "post_delete"

    /// The spelling restflow's `SignalTypes` enum uses on the wire.
    public var restflowName: String {
        switch self {
        case .postSave: return "POST_SAVE"
        case .postDelete: return "POST_DELETE"
        }
    }
}

/// A model-change event: a record was saved or deleted.
public struct ChangeEvent: Sendable, Equatable {
    /// The model label, e.g. `shop.Product`.
    public var model: String
    public var pk: JSONValue
    public var signal: ChangeSignal
    /// Whether the save created the record (always false for deletes).
    public var created: Bool
    /// The fields a partial save wrote; nil for a full save.
    public var updateFields: [String]?
    /// The record's attribute values; nested objects allow dotted paths.
    public var fields: JSONObject

    public init(
        model: String, pk: JSONValue, signal: ChangeSignal, created: Bool = false, updateFields: [String]? = nil,
        fields: JSONObject = JSONObject()
    ) {
        self.model = model
        self.pk = pk
        self.signal = signal
        self.created = created
        self.updateFields = updateFields
        self.fields = fields
    }

    /// The outcome of resolving an attribute path on the record.
    public enum Attribute: Equatable {
        case value(JSONValue)
        /// The record has no such attribute, or an object on the way is null.
        case missing
    }

    /// Resolves a dotted attribute path against `fields`.
    ///
    /// `pk` resolves to the event's primary key when `fields` has no `pk`
    /// member, as a Django model instance always has `.pk`.
    public func attribute(_ segments: [String]) -> Attribute {
        guard let first = segments.first else { return .missing }
        var current: JSONValue
        if let value = fields[first] {
            current = value
        } else if first == "pk" {
            current = pk
        } else {
            return .missing
        }
        if segments.count == 1 { return .value(current) }
        for segment in segments.dropFirst() {
            guard case .object(let object) = current, let next = object[segment] else {
                return .missing
            }
            current = next
        }
        return .value(current)
    }

    /// The JSON form of the event, as an event line carries it.
    public var json: JSONValue {
        var object = JSONObject()
        object.appendUnchecked("model", .string(model))
        object.appendUnchecked("pk", pk)
        object.appendUnchecked("signal", .string(signal.rawValue))
        if signal == .postSave {
            object.appendUnchecked("created", .bool(created))
        }
        object.appendUnchecked("update_fields", updateFields.map { .array($0.map(JSONValue.string)) } ?? .null)
        object.appendUnchecked("fields", .object(fields))
        return .object(object)
    }
}
