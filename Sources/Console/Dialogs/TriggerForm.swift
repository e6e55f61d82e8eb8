import Engine

/// The trigger form: a model, a primary key and a signal, with optional
/// update fields and record fields, turned into a ``ChangeEvent``.
public struct TriggerForm: Sendable, Equatable, TextFieldForm {
    public enum Field: Int, CaseIterable, Sendable {
        case model, pk, signal, updateFields, fields

        var label: String {
            switch self {
            case .model: return "Model"
            case .pk: return "Primary key"
            case .signal: return "Signal"
            case .updateFields: return "update_fields"
            case .fields: return "Fields (JSON)"
            }
        }

        var isChoice: Bool { self == .model || self == .signal }
    }

    public enum Signal: Int, CaseIterable, Sendable {
        case update, create, delete

        var label: String {
            switch self {
            case .update: return "post_save (update)"
            case .create: return "post_save (created)"
            case .delete: return "post_delete"
            }
        }
    }

    public var models: [String]
    public var modelIndex = 0
    public var pk = "1"
    public var signal = Signal.update
    /// Comma-separated names; empty means a full save.
    public var updateFields = ""
    /// A JSON object; empty means `{"id": <pk>}`.
    public var fields = ""
    public private(set) var focus = Field.model
    /// True while the focused field's text is selected, as it is when the
    /// field gains focus: the first character typed replaces the text.
    public internal(set) var replacesText = false

    public init(models: [String]) {
        self.models = models
    }

    public var model: String { models.isEmpty ? "" : models[modelIndex % models.count] }

    /// Returns the text a field shows.
    func text(_ field: Field) -> String {
        switch field {
        case .pk: return pk
        case .updateFields: return updateFields
        case .fields: return fields
        case .model: return model
        case .signal: return signal.label
        }
    }

    /// Focuses `field` and selects its text.
    public mutating func setFocus(_ field: Field) {
        focus = field
        replacesText = !field.isChoice && !text(field).isEmpty
    }

    /// Moves the focus `step` fields on, wrapping around.
    public mutating func moveFocus(by step: Int) {
        let count = Field.allCases.count
        setFocus(Field(rawValue: ((focus.rawValue + step) % count + count) % count) ?? .model)
    }

    /// Types a character into the focused text field, replacing selected text.
    public mutating func type(_ character: Character) {
        insert(character)
    }

    mutating func changeFocusedText(_ change: (inout String) -> Void) -> Bool {
        switch focus {
        case .pk: change(&pk)
        case .updateFields: change(&updateFields)
        case .fields: change(&fields)
        case .model, .signal: return false
        }
        return true
    }

    /// What an empty field means, shown in it; nil when empty means nothing more.
    func placeholder(_ field: Field) -> String? {
        guard field == .fields, fields.isEmpty else { return nil }
        return "empty: " + JSONWriter.string(.object(JSONObject([("id", pkValue)])))
    }

    mutating func cycle(by step: Int) {
        switch focus {
        case .model where !models.isEmpty:
            modelIndex = (modelIndex + step + models.count) % models.count
        case .signal:
            let count = Signal.allCases.count
            signal = Signal(rawValue: (signal.rawValue + step + count) % count) ?? .update
        default:
            break
        }
    }

    /// The primary key as typed: an integer when it reads as one, else a string.
    var pkValue: JSONValue {
        let trimmed = pk.trimmingSpaces()
        if let number = Int64(trimmed) { return .int(number) }
        return .string(trimmed)
    }

    /// Returns the event the form describes, or a message saying what to fix.
    public func event() -> Result<ChangeEvent, TriggerInputError> {
        guard !models.isEmpty else { return .failure(TriggerInputError(message: "No rules are loaded, so there is no model to trigger.")) }
        guard !pk.trimmingSpaces().isEmpty else {
            return .failure(TriggerInputError(message: "The primary key is empty. Type the pk of the record that changed."))
        }
        var record = JSONObject()
        let fieldText = fields.trimmingSpaces()
        if fieldText.isEmpty {
            record["id"] = pkValue
        } else {
            // The text is parsed as typed, so the position counts from its first character.
            let parsed: JSONValue
            do {
                parsed = try JSONParser.parse(fields)
            } catch {
                return .failure(TriggerInputError(
                    message: "Fields is not valid JSON at line \(error.line), column \(error.column): \(error.reason)."))
            }
            guard let object = parsed.objectValue else {
                return .failure(TriggerInputError(
                    message: "Fields must be a JSON object such as {\"id\": 7, \"category\": {\"id\": 2}}."))
            }
            record = object
        }
        var event = ChangeEvent(model: model, pk: pkValue, signal: signal == .delete ? .postDelete : .postSave, fields: record)
        event.created = signal == .create
        let names = updateFields.split(separator: ",").map { String($0).trimmingSpaces() }.filter { !$0.isEmpty }
        if signal == .update && !names.isEmpty { event.updateFields = names }
        return .success(event)
    }
}

/// Input in the trigger form that does not make an event.
public struct TriggerInputError: Error, Sendable, Equatable {
    public var message: String
}

extension String {
    func trimmingSpaces() -> String {
        var text = Substring(self)
        while let first = text.first, first.isWhitespace { text.removeFirst() }
        while let last = text.last, last.isWhitespace { text.removeLast() }
        return String(text)
    }
}
