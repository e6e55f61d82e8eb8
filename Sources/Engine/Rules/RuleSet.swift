/// A configuration compiled against a dispatcher registry: every rule has its
/// dispatcher built and validated, and rules are indexed by model and id.
public final class RuleSet: Sendable {
    public let configuration: EngineConfiguration
    public var rules: [InvalidationRule] { configuration.rules }
    /// The dispatcher of each rule, by rule index.
    public let dispatchers: [any Dispatcher]
    /// Each rule with its dispatcher, by rule index. A class per rule, so the
    /// evaluation loop reads fields in place instead of copying the rule.
    public let compiled: [CompiledRule]
    /// Rule indices per model label, in registration order.
    let rulesByModel: [String: [Int]]
    /// `rulesByModel` for the per-event lookup.
    let modelIndex: ModelRuleIndex
    /// For each rule, by rule index: the position in its model's list in
    /// `rulesByModel` of the first rule whose arguments resolve the same way
    /// (equal `field_mapping` and `require_args`, or both with an invalidator).
    /// Evaluation resolves such arguments once per event and shares them.
    let argumentSlots: [Int]
    /// For each rule, by rule index: the position in its model's list of the
    /// first rule with the same `invalidate_when` conditions, which
    /// evaluation checks once per event for all of them.
    let conditionSlots: [Int]
    /// The per-event checks of each rule, by rule index.
    let checks: [RuleChecks]
    let watchedFieldBits: WatchedFieldBits
    let ruleIndexByID: [String: Int]
    public let invalidators: InvalidatorRegistry
    public let recomputers: RecomputerRegistry
    /// Every registered dispatcher name, sorted, including those no rule uses.
    public let registeredDispatcherNames: [String]
    /// One dispatcher per name built from its settings block alone, for
    /// display and for replays that pick a dispatcher by name.
    public let dispatchersByName: [String: any Dispatcher]

    init(
        configuration: EngineConfiguration, dispatchers: [any Dispatcher], invalidators: InvalidatorRegistry,
        recomputers: RecomputerRegistry, registeredNames: [String], dispatchersByName: [String: any Dispatcher]
    ) {
        self.configuration = configuration
        self.dispatchers = dispatchers
        self.invalidators = invalidators
        self.recomputers = recomputers
        registeredDispatcherNames = registeredNames
        self.dispatchersByName = dispatchersByName
        // Rules whose dispatchers have equal batch keys share a group
        // number, so evaluation groups rules by comparing small integers.
        var batchKeys: [String] = []
        compiled = configuration.rules.indices.map {
            let rule = configuration.rules[$0]
            let dispatcher = dispatchers[$0]
            var group: Int?
            if rule.batch && dispatcher.supportsBatching {
                let key = dispatcher.batchKey
                if let existing = batchKeys.firstIndex(of: key) {
                    group = existing
                } else {
                    group = batchKeys.count
                    batchKeys.append(key)
                }
            }
            return CompiledRule(
                index: $0, rule: rule, dispatcher: dispatcher,
                function: configuration.functions[rule.functionIndex], batchGroup: group)
        }
        var byModel: [String: [Int]] = [:]
        var byID: [String: Int] = [:]
        for (index, rule) in configuration.rules.enumerated() {
            byModel[rule.model, default: []].append(index)
            byID[rule.id] = index
        }
        rulesByModel = byModel
        modelIndex = ModelRuleIndex(byModel)
        ruleIndexByID = byID
        argumentSlots = Self.slots(configuration.rules, byModel: byModel, alike: Self.resolveAlike)
        conditionSlots = Self.slots(configuration.rules, byModel: byModel, alike: Self.conditionsAlike)
        let bits = WatchedFieldBits(configuration.rules)
        watchedFieldBits = bits
        checks = compiled.map { [argumentSlots, conditionSlots] rule in
            bits.checks(
                of: rule.rule, argumentSlot: argumentSlots[rule.index], conditionSlot: conditionSlots[rule.index],
                group: rule.batchGroup)
        }
    }

    /// See ``argumentSlots`` and ``conditionSlots``: for each rule of a
    /// model, the position of the first rule of that model that `alike`
    /// pairs it with, else its own position.
    private static func slots(
        _ rules: [InvalidationRule], byModel: [String: [Int]],
        alike: (InvalidationRule, InvalidationRule) -> Bool
    ) -> [Int] {
        var slots = Array(rules.indices)
        for indices in byModel.values {
            for (position, index) in indices.enumerated() {
                slots[index] = indices[..<position].firstIndex { alike(rules[$0], rules[index]) } ?? position
            }
        }
        return slots
    }

    /// Tells whether evaluation gives the two rules equal arguments for every event.
    private static func resolveAlike(_ first: InvalidationRule, _ second: InvalidationRule) -> Bool {
        if first.invalidator != nil || second.invalidator != nil {
            return first.invalidator != nil && second.invalidator != nil
        }
        let sameMapping = first.fieldMapping.elementsEqual(second.fieldMapping) { left, right in
            StrictEquality.same(left.argument, right.argument) && StrictEquality.same(left.path, right.path)
                && left.segments.elementsEqual(right.segments, by: StrictEquality.same)
        }
        switch (first.requireArgs, second.requireArgs) {
        case (.all, .all), (.none, .none): return sameMapping
        case (.only(let left), .only(let right)): return sameMapping && left.elementsEqual(right, by: StrictEquality.same)
        default: return false
        }
    }

    /// Tells whether the two rules' `invalidate_when` conditions hold for exactly the same events.
    private static func conditionsAlike(_ first: InvalidationRule, _ second: InvalidationRule) -> Bool {
        first.invalidateWhen.elementsEqual(second.invalidateWhen) { left, right in
            left.negated == right.negated && left.segments.elementsEqual(right.segments, by: StrictEquality.same)
                && StrictEquality.same(left.expected, right.expected)
        }
    }

    public func rule(id: String) -> InvalidationRule? {
        ruleIndexByID[id].map { configuration.rules[$0] }
    }

    /// The compiled rule with a stable id; cheaper than ``rule(id:)`` on hot paths.
    public func compiledRule(id: String) -> CompiledRule? {
        ruleIndexByID[id].map { compiled[$0] }
    }

    /// The dispatcher used by the rule with this id.
    public func dispatcher(forRule id: String) -> (any Dispatcher)? {
        ruleIndexByID[id].map { dispatchers[$0] }
    }

    /// The function a rule belongs to.
    public func function(of rule: InvalidationRule) -> CachedFunction {
        configuration.functions[rule.functionIndex]
    }

    /// Every model label that has rules, sorted.
    public var models: [String] { rulesByModel.keys.sorted() }

    /// The number of rules that use the dispatcher `name`.
    public func ruleCount(dispatcher name: String) -> Int {
        configuration.rules.reduce(0) { $0 + ($1.dispatcher == name ? 1 : 0) }
    }

    /// Compiles `configuration`: builds each rule's dispatcher from the
    /// registry and checks invalidators and recomputers by name.
    public static func compile(
        _ configuration: EngineConfiguration, registry: DispatcherRegistry,
        invalidators: InvalidatorRegistry = .builtIn, recomputers: RecomputerRegistry = .builtIn
    ) throws(ConfigurationError) -> RuleSet {
        let settings = configuration.settings
        var byName: [String: any Dispatcher] = [:]
        for name in settings.dispatchers.keys.sorted() {
            let path = "settings.dispatchers.\(name)"
            guard registry.registeredNames().contains(name) else {
                let names = registry.registeredNames()
                let hint = NameSuggestion.closest(to: name, in: names).map { "Did you mean '\($0)'? " } ?? ""
                throw configuration.error(
                    at: path, "settings for the unknown dispatcher '\(name)'",
                    fix: "\(hint)Registered dispatchers: \(names.joined(separator: ", ")).")
            }
        }
        // A rule added later may rely on the default, so a misspelt default
        // is an error even while every rule names its own dispatcher.
        do {
            _ = try registry.resolve(settings.defaultDispatcher)
        } catch {
            throw configuration.error(at: "settings.default_dispatcher", error.description)
        }
        for name in registry.registeredNames() {
            let options = DispatcherOptions.merged(
                dispatcher: name, settingsBlock: settings.block(for: name), ruleConfig: JSONObject(),
                globalRaiseException: settings.raiseException, settingsPath: "settings.dispatchers.\(name)", rulePath: "")
            do {
                byName[name] = try build(name, options, registry: registry, configuration: configuration, namePath: "settings.dispatchers")
            } catch where settings.dispatchers[name] == nil {
                // A dispatcher that needs options (a secret, say) and has no
                // settings block cannot be built on its own; that is only an
                // error for the rules that use it, which are checked below.
                continue
            }
        }

        var shared: [String: any Dispatcher] = [:]
        var dispatchers: [any Dispatcher] = []
        for rule in configuration.rules {
            let namePath = rule.dispatcher == settings.defaultDispatcher && !ruleSetsDispatcher(rule, configuration)
                ? "settings.default_dispatcher" : "\(rule.documentPath).dispatcher"
            let options = DispatcherOptions.merged(
                dispatcher: rule.dispatcher, settingsBlock: settings.block(for: rule.dispatcher),
                ruleConfig: rule.dispatcherConfig, globalRaiseException: settings.raiseException,
                settingsPath: "settings.dispatchers.\(rule.dispatcher)", rulePath: "\(rule.documentPath).dispatcher_config")
            let sharingKey = "\(rule.dispatcher)|\(options.sortedDescription)"
            let dispatcher: any Dispatcher
            if let existing = shared[sharingKey] {
                dispatcher = existing
            } else {
                dispatcher = try build(rule.dispatcher, options, registry: registry, configuration: configuration, namePath: namePath)
                shared[sharingKey] = dispatcher
            }
            try checkWork(of: rule, dispatcher: dispatcher, configuration: configuration, invalidators: invalidators, recomputers: recomputers)
            dispatchers.append(dispatcher)
        }
        return RuleSet(
            configuration: configuration, dispatchers: dispatchers, invalidators: invalidators, recomputers: recomputers,
            registeredNames: registry.registeredNames(), dispatchersByName: byName)
    }

    private static func ruleSetsDispatcher(_ rule: InvalidationRule, _ configuration: EngineConfiguration) -> Bool {
        configuration.locations["\(rule.documentPath).dispatcher"] != nil
    }

    private static func build(
        _ name: String, _ options: DispatcherOptions, registry: DispatcherRegistry, configuration: EngineConfiguration,
        namePath: String
    ) throws(ConfigurationError) -> any Dispatcher {
        let registration: DispatcherRegistration
        do {
            registration = try registry.resolve(name)
        } catch {
            throw configuration.error(at: namePath, error.description)
        }
        do {
            return try registration.make(options)
        } catch {
            let path = options.origins[error.key] ?? namePath
            throw configuration.error(at: path, error.description)
        }
    }

    private static func checkWork(
        of rule: InvalidationRule, dispatcher: any Dispatcher, configuration: EngineConfiguration,
        invalidators: InvalidatorRegistry, recomputers: RecomputerRegistry
    ) throws(ConfigurationError) {
        if let name = rule.invalidator {
            guard invalidators.invalidator(named: name) != nil else {
                throw configuration.error(
                    at: "\(rule.documentPath).invalidator", "unknown invalidator '\(name)'",
                    fix: "Known invalidators: \(invalidators.names.joined(separator: ", ")).")
            }
            if !dispatcher.runsInProcess {
                throw configuration.error(
                    at: "\(rule.documentPath).dispatcher",
                    "the rule has the custom invalidator '\(name)', which runs in this process, but its dispatcher '\(rule.dispatcher)' hands work to a broker",
                    fix: "Use inline, threadpool or asyncio for this rule, or replace the invalidator with a field_mapping.")
            }
        }
        let function = configuration.functions[rule.functionIndex]
        if let name = function.recompute, recomputers.recomputer(named: name) == nil {
            throw configuration.error(
                at: "functions[\(rule.functionIndex)].recompute", "unknown recomputer '\(name)'",
                fix: "Known recomputers: \(recomputers.names.joined(separator: ", ")).")
        }
    }
}

/// A rule together with the dispatcher built for it.
public final class CompiledRule: Sendable {
    public let index: Int
    public let rule: InvalidationRule
    public let dispatcher: any Dispatcher
    /// The cached function the rule belongs to.
    public let function: CachedFunction
    /// The rule's batch group: nil when the rule is dispatched on its own
    /// (`batch` is false or its dispatcher does not batch). Otherwise it is a
    /// number shared by exactly the batching rules whose dispatchers have
    /// equal batch keys, read once when the rule set is compiled.
    public let batchGroup: Int?
    /// The dispatcher's name, batch key, resolved options and
    /// `raise_exception`, read once here so each batch copies them without
    /// calls through the existential. Dispatchers declare these as
    /// constants, fixed when the dispatcher is built.
    public let dispatcherName: String
    public let batchKey: String
    public let dispatcherOptions: JSONObject
    public let dispatcherRaiseException: Bool?
    /// `[rule.id]` and `[rule.restflowID]`, built once and shared by every
    /// batch that contains this rule alone (arrays are copied on write).
    let soloRuleIDs: [String]
    let soloRestflowIDs: [Int]
    /// The dispatcher is the built-in inline one, whose whole dispatch is
    /// running the rule on the calling thread, so the engine may run the
    /// rule itself without building a batch.
    let runsInline: Bool

    init(index: Int, rule: InvalidationRule, dispatcher: any Dispatcher, function: CachedFunction, batchGroup: Int?) {
        self.index = index
        self.rule = rule
        self.dispatcher = dispatcher
        self.function = function
        self.batchGroup = batchGroup
        dispatcherName = dispatcher.name
        batchKey = dispatcher.batchKey
        dispatcherOptions = dispatcher.resolvedOptions
        dispatcherRaiseException = dispatcher.raiseException
        soloRuleIDs = [rule.id]
        soloRestflowIDs = [rule.restflowID]
        runsInline = dispatcher is InlineDispatcher
    }
}

/// Equality that holds only when evaluation cannot tell two values apart.
///
/// Swift's `String ==` calls canonically equivalent spellings equal ("é"
/// and "e" + U+0301), but attribute lookups and `invalidate_when`
/// comparisons tell them apart, so rules share work only when their
/// strings have the same UTF-8 bytes.
enum StrictEquality {
    static func same(_ first: String, _ second: String) -> Bool {
        first.utf8.elementsEqual(second.utf8)
    }

    static func same(_ first: JSONValue, _ second: JSONValue) -> Bool {
        switch (first, second) {
        case (.null, .null): return true
        case (.bool(let left), .bool(let right)): return left == right
        case (.int(let left), .int(let right)): return left == right
        case (.double(let left), .double(let right)): return left.bitPattern == right.bitPattern
        case (.string(let left), .string(let right)): return same(left, right)
        case (.array(let left), .array(let right)): return left.elementsEqual(right, by: same)
        case (.object(let left), .object(let right)):
            return left.members.elementsEqual(right.members) { same($0.key, $1.key) && same($0.value, $1.value) }
        default: return false
        }
    }
}
