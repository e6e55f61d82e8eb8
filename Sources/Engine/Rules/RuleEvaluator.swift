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

    /// A rule that runs for an event, with its arguments.
    struct FiredRule {
        var index: Int
        /// ``CompiledRule/batchGroup`` of the rule.
        var group: Int?
        var arguments: JSONObject
    }

    /// Returns the rules that run for `event`, in rule order.
    func firedRules(_ event: ChangeEvent) -> [FiredRule] {
        withFiredRules(event) { Array($0) }
    }

    /// Calls `body` with the rules that run for `event`, in rule order, kept
    /// in a buffer on the stack for the duration of the call.
    func withFiredRules<Result>(_ event: ChangeEvent, _ body: (UnsafeBufferPointer<FiredRule>) -> Result) -> Result {
        guard let indices = rules.modelIndex.indices(for: event.model) else {
            return body(UnsafeBufferPointer(start: nil, count: 0))
        }
        return withUnsafeTemporaryAllocation(of: FiredRule.self, capacity: indices.count) { buffer in
            withUnsafeTemporaryAllocation(of: Int.self, capacity: indices.count * 2) { scratch in
                // By argument slot: where in `buffer` the slot's arguments
                // are, or one of the two markers below. By condition slot:
                // whether the slot's conditions hold, or `unresolved`.
                scratch.initialize(repeating: Self.unresolved)
                let resolved = UnsafeMutableBufferPointer(rebasing: scratch[0..<indices.count])
                let conditions = UnsafeMutableBufferPointer(rebasing: scratch[indices.count...])
                var changes = ChangeFacts(event)
                var count = 0
                rules.checks.withUnsafeBufferPointer { checks in
                    for index in indices {
                        let check = checks[index]
                        guard passesChangeChecks(check, index: index, &changes),
                            !check.hasConditions || conditionsHold(index, check.conditionSlot, event, memo: conditions),
                            let arguments = sharedArguments(
                                index, check.argumentSlot, event, resolved: resolved, fired: buffer, count: count)
                        else {
                            continue
                        }
                        buffer.initializeElement(at: count, to: FiredRule(index: index, group: check.group, arguments: arguments))
                        count += 1
                    }
                }
                let fired = UnsafeMutableBufferPointer(rebasing: buffer[0..<count])
                defer { fired.deinitialize() }
                return body(UnsafeBufferPointer(fired))
            }
        }
    }

    /// The parts of an event that `trigger_on_create` and `watch_fields`
    /// read, with the watched-name bits of its `update_fields` found once.
    private struct ChangeFacts {
        var isSave: Bool
        var created: Bool
        var updateFields: [String]?
        /// Whether `updateBits` has been computed for this event.
        var updateBitsComputed = false
        /// The bits of `updateFields` (see ``WatchedFieldBits``), or nil when
        /// the names must be compared as strings.
        var updateBits: UInt64?

        init(_ event: ChangeEvent) {
            isSave = event.signal == .postSave
            created = event.created
            updateFields = event.updateFields
        }
    }

    /// Returns whether the rule passes `trigger_on_create` and `watch_fields`
    /// (``changeSkip(_:_:)`` returns nil), decided from its plain checks.
    private func passesChangeChecks(_ check: RuleChecks, index: Int, _ facts: inout ChangeFacts) -> Bool {
        guard facts.isSave else { return true }
        if facts.created { return check.triggerOnCreate }
        guard check.watchesFields, let updated = facts.updateFields else { return true }
        if !facts.updateBitsComputed {
            facts.updateBits = rules.watchedFieldBits.mask(of: updated)
            facts.updateBitsComputed = true
        }
        if let bits = facts.updateBits, !check.comparesNames {
            return bits & check.watchedBits != 0
        }
        return Self.sharesName(updated, rules.compiled[index].rule.watchFields ?? [])
    }

    /// Returns whether the rule's `invalidate_when` conditions are met. The
    /// result is memoized by condition slot in `memo` (1 met, 0 not), so
    /// rules with the same conditions check them once per event.
    private func conditionsHold(_ index: Int, _ slot: Int, _ event: ChangeEvent, memo: UnsafeMutableBufferPointer<Int>) -> Bool {
        if memo[slot] != Self.unresolved { return memo[slot] == 1 }
        let satisfied = rules.compiled[index].rule.invalidateWhen.allSatisfy { Self.conditionHolds($0, event) }
        memo[slot] = satisfied ? 1 : 0
        return satisfied
    }

    private static let unresolved = -1
    private static let resolvedToSkip = -2

    /// Returns the arguments of rule `index`. When an earlier fired rule of
    /// the event resolves them the same way, its object is shared (copied on
    /// write). A first resolution is recorded in `resolved`: the position
    /// `count` the rule takes in `fired`, or a skip.
    private func sharedArguments(
        _ index: Int, _ slot: Int, _ event: ChangeEvent, resolved: UnsafeMutableBufferPointer<Int>,
        fired: UnsafeMutableBufferPointer<FiredRule>, count: Int
    ) -> JSONObject? {
        switch resolved[slot] {
        case Self.unresolved:
            let arguments = Self.arguments(of: rules.compiled[index], event)
            resolved[slot] = arguments == nil ? Self.resolvedToSkip : count
            return arguments
        case Self.resolvedToSkip:
            return nil
        case let position:
            return fired[position].arguments
        }
    }

    /// Calls `body` once per dispatch call, in dispatch order: rules that
    /// run on their own first, in rule order, then one call per batch
    /// group, ordered by the group's first rule. `body` gets the position
    /// in `fired` of the call's first rule and its group (nil for a rule on
    /// its own); the call's rules are those from that position on with the
    /// same group.
    static func forEachDispatch(_ fired: UnsafeBufferPointer<FiredRule>, _ body: (_ first: Int, _ group: Int?) -> Void) {
        var hasGroups = false
        for (position, rule) in fired.enumerated() {
            if rule.group == nil {
                body(position, nil)
            } else {
                hasGroups = true
            }
        }
        guard hasGroups else { return }
        // Groups are numbered from 0 in a rule set; most have fewer than 64,
        // which a bit mask tracks without allocating.
        var seenMask: UInt64 = 0
        var seenOthers: [Int] = []
        for (position, rule) in fired.enumerated() {
            guard let group = rule.group else { continue }
            if group < 64 {
                let bit = UInt64(1) << UInt64(group)
                if seenMask & bit != 0 { continue }
                seenMask |= bit
            } else {
                if seenOthers.contains(group) { continue }
                seenOthers.append(group)
            }
            body(position, group)
        }
    }

    /// Returns the dispatch calls for `event`: rules that run on their own
    /// first, in rule order, then one call per batch key, ordered by the
    /// first rule of each group.
    public func plan(_ event: ChangeEvent) -> [PlannedDispatch] {
        withFiredRules(event) { fired in
            var plan: [PlannedDispatch] = []
            Self.forEachDispatch(fired) { first, group in
                let dispatcher = rules.compiled[fired[first].index].dispatcher
                var planned = PlannedDispatch(dispatcher: dispatcher, ruleIndices: [], arguments: [])
                for rule in fired[first...] where rule.group == group {
                    planned.ruleIndices.append(rule.index)
                    planned.arguments.append(rule.arguments)
                    if group == nil { break }
                }
                plan.append(planned)
            }
            return plan
        }
    }

    /// The arguments rule `index` runs with for `event`, or why it is skipped.
    public func arguments(forRule index: Int, event: ChangeEvent) -> Result<JSONObject, SkipReason> {
        let compiled = rules.compiled[index]
        if let skip = Self.shouldSkip(compiled, event) {
            return .failure(SkipReason(skip))
        }
        guard let arguments = Self.arguments(of: compiled, event) else {
            return .failure(SkipReason(.missingArguments))
        }
        return .success(arguments)
    }

    /// The arguments a rule that is not skipped runs with: the event itself
    /// for an invalidator, else the resolved `field_mapping`.
    static func arguments(of compiled: CompiledRule, _ event: ChangeEvent) -> JSONObject? {
        if compiled.rule.invalidator != nil {
            return event.json.objectValue ?? JSONObject()
        }
        return resolveArguments(compiled, event)
    }

    /// A ``Skip`` wrapped as an `Error` so it can travel in a `Result`.
    public struct SkipReason: Error, Sendable, Equatable {
        public var skip: Skip
        public init(_ skip: Skip) { self.skip = skip }
    }

    /// Applies `trigger_on_create`, `watch_fields` and `invalidate_when`.
    public static func shouldSkip(_ compiled: CompiledRule, _ event: ChangeEvent) -> Skip? {
        if let skip = changeSkip(compiled, event) {
            return skip
        }
        for condition in compiled.rule.invalidateWhen where !conditionHolds(condition, event) {
            return .condition
        }
        return nil
    }

    /// Applies `trigger_on_create` and `watch_fields`.
    private static func changeSkip(_ compiled: CompiledRule, _ event: ChangeEvent) -> Skip? {
        if event.signal == .postSave && event.created && !compiled.rule.triggerOnCreate {
            return .created
        }
        if let watch = compiled.rule.watchFields, !watch.isEmpty, event.signal == .postSave, !event.created,
            let updated = event.updateFields, !sharesName(updated, watch)
        {
            // A full save (no update_fields) may have changed any field, so it runs the rule.
            return .watchFields
        }
        return nil
    }

    /// Whether the two lists of field names have a name in common.
    private static func sharesName(_ updated: [String], _ watched: [String]) -> Bool {
        for name in updated {
            let length = name.utf8.count
            for candidate in watched where candidate.utf8.count == length && candidate == name {
                return true
            }
        }
        return false
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
    static func resolveArguments(_ compiled: CompiledRule, _ event: ChangeEvent) -> JSONObject? {
        let mappings = compiled.rule.fieldMapping
        var arguments = JSONObject(capacity: mappings.count)
        for mapping in mappings {
            let value: JSONValue
            switch event.attribute(mapping.segments) {
            case .missing: value = .null
            case .value(let found): value = found
            }
            arguments.appendUnchecked(mapping.argument, value)
        }
        switch compiled.rule.requireArgs {
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
