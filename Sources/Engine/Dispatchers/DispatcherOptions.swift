/// A dispatcher option that is missing, of the wrong type or out of range.
public struct DispatcherConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    public var dispatcher: String
    /// The lowercase option key, e.g. `max_workers`.
    public var key: String
    /// The rejected value, or nil when the option itself is the problem (unknown key).
    public var value: JSONValue?
    /// What is expected, e.g. "a positive integer".
    public var expected: String

    public init(dispatcher: String, key: String, value: JSONValue?, expected: String) {
        self.dispatcher = dispatcher
        self.key = key
        self.value = value
        self.expected = expected
    }

    public var description: String {
        if let value {
            return "\(dispatcher) option '\(key)' is \(JSONWriter.string(value)); expected \(expected)"
        }
        return "\(dispatcher) has no option '\(key)'; \(expected)"
    }
}

/// The options a dispatcher is built from: its settings block with the rule's
/// `dispatcher_config` merged over it. Settings-block keys arrive lowercased,
/// so `MAX_WORKERS` is read as `max_workers`. Keys of `dispatcher_config`
/// are taken as written, as restflow 2.0.1 reads them, so they must be lowercase.
///
/// Accessors validate as they read, so a dispatcher's initializer states its
/// options once and every bad value fails with the key, the value and what
/// is expected.
public struct DispatcherOptions: Sendable {
    public let dispatcher: String
    public let values: JSONObject
    /// The global `raise_exception` setting, the last step of the error policy.
    public let globalRaiseException: Bool
    /// The document path each key was read from, for messages.
    public let origins: [String: String]

    public init(dispatcher: String, values: JSONObject = JSONObject(), globalRaiseException: Bool = false, origins: [String: String] = [:]) {
        self.dispatcher = dispatcher
        self.values = values
        self.globalRaiseException = globalRaiseException
        self.origins = origins
    }

    /// Merges a rule's `dispatcher_config` over the settings block; the rule wins.
    public static func merged(
        dispatcher: String, settingsBlock: JSONObject, ruleConfig: JSONObject, globalRaiseException: Bool,
        settingsPath: String, rulePath: String
    ) -> DispatcherOptions {
        var values = JSONObject()
        var origins: [String: String] = [:]
        for member in settingsBlock {
            values[member.key] = member.value
            origins[member.key] = "\(settingsPath).\(member.key)"
        }
        for member in ruleConfig {
            values[member.key] = member.value
            origins[member.key] = "\(rulePath).\(member.key)"
        }
        return DispatcherOptions(dispatcher: dispatcher, values: values, globalRaiseException: globalRaiseException, origins: origins)
    }

    private func fail(_ key: String, _ expected: String) -> DispatcherConfigurationError {
        DispatcherConfigurationError(dispatcher: dispatcher, key: key, value: values[key], expected: expected)
    }

    /// Rejects keys the dispatcher does not know. `raise_exception` is always allowed.
    public func rejectUnknownKeys(allowed: [String]) throws(DispatcherConfigurationError) {
        let known = allowed + ["raise_exception"]
        for key in values.keys where !known.contains(key) {
            let hint = NameSuggestion.closest(to: key, in: known).map { "did you mean '\($0)'? " } ?? ""
            throw DispatcherConfigurationError(
                dispatcher: dispatcher, key: key, value: nil,
                expected: "\(hint)known options: \(known.sorted().joined(separator: ", "))")
        }
    }

    /// A non-empty string option, `fallback` when absent or null.
    public func string(_ key: String, default fallback: String? = nil) throws(DispatcherConfigurationError) -> String? {
        switch values[key] {
        case nil, .null?: return fallback
        case .string(let text)? where !text.isEmpty: return text
        default: throw fail(key, "a non-empty string")
        }
    }

    /// A positive integer option.
    public func positiveInteger(_ key: String, default fallback: Int) throws(DispatcherConfigurationError) -> Int {
        switch values[key] {
        case nil, .null?: return fallback
        case .int(let number)? where number >= 1 && number <= 1024: return Int(number)
        default: throw fail(key, "a positive integer (1 to 1024)")
        }
    }

    /// A boolean option; nil when absent or null.
    public func bool(_ key: String) throws(DispatcherConfigurationError) -> Bool? {
        switch values[key] {
        case nil, .null?: return nil
        case .bool(let flag)?: return flag
        default: throw fail(key, "true, false or null")
        }
    }

    /// The dispatcher-level `raise_exception`, validated.
    public func raiseException() throws(DispatcherConfigurationError) -> Bool? {
        try bool("raise_exception")
    }

    /// The options sorted by key, for batch keys and display.
    public var sortedDescription: String {
        values.sortedByKey().members.map { "\($0.key)=\(JSONWriter.string($0.value))" }.joined(separator: ",")
    }
}
