import Engine

/// The fault-injection form: a dispatcher, the share of its batches that
/// fail, and latency added before each batch runs.
public struct FaultForm: Sendable, Equatable {
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
    public var focus = Field.dispatcher

    /// Creates a form on `selected` (or the first dispatcher), prefilled from `current`.
    public init(dispatchers: [String], selected: String?, current: [String: FaultSetting]) {
        self.dispatchers = dispatchers
        index = selected.flatMap { dispatchers.firstIndex(of: $0) } ?? 0
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

    mutating func edit(_ change: (inout String) -> Void) {
        switch focus {
        case .failurePercent: change(&failurePercent)
        case .latency: change(&latency)
        case .dispatcher: break
        }
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
