import Engine

/// The fault-injection form: a dispatcher, the share of its batches that
/// fail, and latency added before each batch runs.
public struct FaultForm: Sendable, Equatable, TextFieldForm {
    public enum Field: Int, CaseIterable, Sendable {
        case dispatcher, failurePercent, latency

        var label: String {
            switch self {
            case .dispatcher: return "Dispatcher"
            case .failurePercent: return "Failing batches (%)"
            case .latency: return "Added latency (ms)"
            }
        }
    }

    public var dispatchers: [String]
    public var index: Int
    public var failurePercent: String
    public var latency: String
    public private(set) var focus = Field.dispatcher
    /// True while the focused number is selected, as it is when the field
    /// gains focus: the first digit typed replaces it.
    public internal(set) var replacesText = false

    /// Creates a form on `selected` (or the first dispatcher), prefilled from `current`.
    public init(dispatchers: [String], selected: String?, current: [String: FaultSetting]) {
        self.dispatchers = dispatchers
        // Without a selected dispatcher, the form opens on the first one with
        // a fault in force, which is the one an operator wants to turn off.
        let faulty = dispatchers.firstIndex { name in
            current[name].map { $0.failurePercent > 0 || $0.addedLatencyMilliseconds > 0 } ?? false
        }
        index = selected.flatMap { dispatchers.firstIndex(of: $0) } ?? faulty ?? 0
        failurePercent = "0"
        latency = "0"
        load(current)
    }

    public var dispatcher: String { dispatchers.isEmpty ? "" : dispatchers[index % dispatchers.count] }

    /// Fills the numbers from the setting in force for the chosen dispatcher.
    mutating func load(_ current: [String: FaultSetting]) {
        let setting = current[dispatcher]
        failurePercent = String(setting?.failurePercent ?? 0)
        latency = String(setting?.addedLatencyMilliseconds ?? 0)
    }

    mutating func cycle(by step: Int, current: [String: FaultSetting]) {
        guard focus == .dispatcher, !dispatchers.isEmpty else { return }
        index = (index + step + dispatchers.count) % dispatchers.count
        load(current)
    }

    /// Moves the focus `step` fields on, wrapping around, and selects the field's number.
    public mutating func moveFocus(by step: Int) {
        let count = Field.allCases.count
        focus = Field(rawValue: ((focus.rawValue + step) % count + count) % count) ?? .dispatcher
        replacesText = focus != .dispatcher
    }

    /// Types a digit into the focused number, replacing it while it is selected.
    public mutating func type(_ character: Character) {
        guard character.isASCII, character.isNumber else { return }
        insert(character)
    }

    mutating func changeFocusedText(_ change: (inout String) -> Void) -> Bool {
        switch focus {
        case .failurePercent: change(&failurePercent)
        case .latency: change(&latency)
        case .dispatcher: return false
        }
        return true
    }

    /// Returns the setting the form describes, or a message saying what to fix.
    public func setting() -> Result<FaultSetting, TriggerInputError> {
        guard let percent = Int(failurePercent.trimmingSpaces()), (0...100).contains(percent) else {
            return .failure(TriggerInputError(message: "The failure share '\(failurePercent)' is not a whole number from 0 to 100."))
        }
        guard let milliseconds = Int(latency.trimmingSpaces()), (0...60_000).contains(milliseconds) else {
            return .failure(TriggerInputError(message: "The latency '\(latency)' is not a whole number of milliseconds from 0 to 60000."))
        }
        return .success(FaultSetting(failurePercent: percent, addedLatencyMilliseconds: milliseconds))
    }
}
