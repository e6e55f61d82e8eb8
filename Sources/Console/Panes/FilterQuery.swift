import Engine

/// A parsed filter line: free words plus `dispatcher:`, `model:` and
/// `state:` qualifiers. Every part must match (AND); matching ignores case
/// and looks for the text anywhere in the field.
public struct FilterQuery: Sendable, Equatable {
    public static let qualifiers = ["dispatcher", "model", "state"]

    public var text: String
    public var dispatcher: [String] = []
    public var model: [String] = []
    public var state: [String] = []
    public var words: [String] = []
    /// Qualifiers the filter does not know, e.g. `queue:`; they match as words.
    public var unknownQualifiers: [String] = []

    public init(_ text: String = "") {
        self.text = text
        for part in text.split(whereSeparator: \.isWhitespace) {
            let token = part.lowercased()
            guard let colon = token.firstIndex(of: ":"), colon != token.startIndex else {
                words.append(token)
                continue
            }
            let name = String(token[..<colon])
            let value = String(token[token.index(after: colon)...])
            switch name {
            case "dispatcher": dispatcher.append(value)
            case "model": model.append(value)
            case "state": state.append(value)
            default:
                unknownQualifiers.append(name)
                words.append(token)
            }
        }
    }

    public var isEmpty: Bool { dispatcher.isEmpty && model.isEmpty && state.isEmpty && words.isEmpty }

    /// The state words rows carry: a live batch's state, a failure's status,
    /// and `dead` for a dead-lettered failure.
    public static let stateWords: [String] = {
        var words = BatchState.allCases.map(\.rawValue)
        for status in FailureStatus.allCases where !words.contains(status.rawValue) {
            words.append(status.rawValue)
        }
        return words
    }()

    /// Returns warnings about parts that can match nothing as meant: unknown
    /// qualifiers (matched as plain words) and `state:` values that are in
    /// no state word.
    public func warnings() -> [String] {
        var warnings: [String] = []
        if !unknownQualifiers.isEmpty {
            let names = unknownQualifiers.map { "'\($0):'" }.joined(separator: ", ")
            warnings.append("Unknown filter qualifier \(names), matched as plain text; use dispatcher:, model: or state:.")
        }
        let unknownStates = state.filter { value in !Self.stateWords.contains { $0.contains(value) } }
        if !unknownStates.isEmpty {
            let values = unknownStates.map { "'\($0)'" }.joined(separator: ", ")
            warnings.append("No row can be in state \(values); states are \(Self.stateWords.joined(separator: ", ")).")
        }
        return warnings
    }

    /// Returns whether a row matches. `fields` are the row's other texts, searched by free words.
    public func matches(dispatcher rowDispatcher: String?, model rowModel: String?, state rowState: String?, fields: [String]) -> Bool {
        if !Self.all(dispatcher, in: rowDispatcher) { return false }
        if !Self.all(model, in: rowModel) { return false }
        if !Self.all(state, in: rowState) { return false }
        for word in words {
            let found = fields.contains { $0.lowercased().contains(word) }
                || [rowDispatcher, rowModel, rowState].contains { $0?.lowercased().contains(word) ?? false }
            if !found { return false }
        }
        return true
    }

    /// Returns whether every needle is in `field`. A row without the field fails any needle.
    private static func all(_ needles: [String], in field: String?) -> Bool {
        guard !needles.isEmpty else { return true }
        guard let field = field?.lowercased() else { return false }
        return needles.allSatisfy { field.contains($0) }
    }
}
