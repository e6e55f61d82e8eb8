/// Decides which rules an event runs and how they group into dispatch calls.
public struct RuleEvaluator: Sendable {
    /// One dispatch call planned for an event.
    public struct PlannedDispatch: Sendable {
        public var dispatcher: any Dispatcher
        /// Indices into the rule set, in rule order.
        public var ruleIndices: [Int]
        /// The arguments of each rule, in the same order.
        public var arguments: [JSONObject]
    }

    /// Why a rule did not run, for previews in the console.
    public enum Skip: String, Sendable, Equatable {
        case created = "a create, and trigger_on_create is off"
        case watchFields = "no watched field in update_fields"
        case condition = "invalidate_when does not match"
        case missingArguments = "a required argument is null"
    }

    public let rules: RuleSet

    public init(rules: RuleSet) {
        self.rules = rules
    }

    /// Returns the dispatch calls for `event`: rules that run on their own
    /// first, in rule order, then one call per batch key, ordered by the
    /// first rule of each group.
    public func plan(_ event: ChangeEvent) -> [PlannedDispatch] {
        guard let indices = rules.rulesByModel[event.model] else { return [] }
        var standalone: [PlannedDispatch] = []
        var groups: [PlannedDispatch] = []
        var groupIndexByKey: [String: Int] = [:]
        for index in indices {
            guard let arguments = try? arguments(forRule: index, event: event).get() else { continue }
            let dispatcher = rules.dispatchers[index]
            let rule = rules.rules[index]
            if !rule.batch || !dispatcher.supportsBatching {
                standalone.append(PlannedDispatch(dispatcher: dispatcher, ruleIndices: [index], arguments: [arguments]))
                continue
            }
            if let group = groupIndexByKey[dispatcher.batchKey] {
                groups[group].ruleIndices.append(index)
                groups[group].arguments.append(arguments)
            } else {
                groupIndexByKey[dispatcher.batchKey] = groups.count
                groups.append(PlannedDispatch(dispatcher: dispatcher, ruleIndices: [index], arguments: [arguments]))
            }
        }
        return standalone + groups
    }

    /// The arguments rule `index` runs with for `event`, or why it is skipped.
    public func arguments(forRule index: Int, event: ChangeEvent) -> Result<JSONObject, SkipReason> {
        let rule = rules.rules[index]
        if let skip = Self.shouldSkip(rule, event) {
            return .failure(SkipReason(skip))
        }
        if rule.invalidator != nil {
            return .success(event.json.objectValue ?? JSONObject())
        }
        guard let arguments = Self.resolveArguments(rule, event) else {
            return .failure(SkipReason(.missingArguments))
        }
        return .success(arguments)
    }

    /// A ``Skip`` wrapped as an `Error` so it can travel in a `Result`.
    public struct SkipReason: Error, Sendable, Equatable {
        public var skip: Skip
        public init(_ skip: Skip) { self.skip = skip }
    }

    /// Applies `trigger_on_create`, `watch_fields` and `invalidate_when`.
    public static func shouldSkip(_ rule: InvalidationRule, _ event: ChangeEvent) -> Skip? {
        if event.signal == .postSave && event.created && !rule.triggerOnCreate {
            return .created
        }
        if let watch = rule.watchFields, !watch.isEmpty, event.signal == .postSave, !event.created,
            let updated = event.updateFields, !updated.contains(where: watch.contains)
        {
            // A full save (no update_fields) may have changed any field, so it runs the rule.
            return .watchFields
        }
        for condition in rule.invalidateWhen where !conditionHolds(condition, event) {
            return .condition
        }
        return nil
    }

    /// Evaluates one `invalidate_when` condition. A missing attribute equals
    /// no expected value, null included; `!` negates the comparison.
    static func conditionHolds(_ condition: Condition, _ event: ChangeEvent) -> Bool {
        let equal: Bool
        switch event.attribute(condition.segments) {
        case .missing: equal = false
        case .value(let actual): equal = actual.matches(condition.expected)
        }
        return condition.negated ? !equal : equal
    }

    /// Resolves `field_mapping` and applies `require_args`; nil skips the rule.
    static func resolveArguments(_ rule: InvalidationRule, _ event: ChangeEvent) -> JSONObject? {
        var arguments = JSONObject()
        for mapping in rule.fieldMapping {
            let value: JSONValue
            switch event.attribute(mapping.segments) {
            case .missing: value = .null
            case .value(let found): value = found
            }
            arguments.appendUnchecked(mapping.argument, value)
        }
        switch rule.requireArgs {
        case .all:
            if arguments.contains(where: { $0.value.isNull }) { return nil }
        case .none:
            break
        case .only(let names):
            for name in names where arguments[name]?.isNull ?? true { return nil }
        }
        return arguments
    }
}
