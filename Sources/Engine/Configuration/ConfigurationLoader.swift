import Foundation

/// Reads a configuration document (JSON) into an ``EngineConfiguration``.
///
/// Every value is type-checked; unknown keys are rejected with a suggestion.
/// Checks that need the dispatcher registry (names and options) happen when
/// the rules are compiled, see ``RuleSet``.
public enum ConfigurationLoader {
    static let topKeys = ["settings", "functions", "description"]
    static let settingsKeys = ["default_dispatcher", "raise_exception", "dispatchers", "cache_key_prefix", "brokers"]
    static let functionKeys = ["name", "key", "recompute", "rules", "description"]
    static let keyKeys = ["namespace", "version", "partition", "identifier"]
    static let ruleKeys = [
        "id", "restflow_id", "model", "field_mapping", "require_args", "trigger_on_create", "watch_fields",
        "invalidate_when", "rewarm", "invalidator", "dispatcher", "dispatcher_config", "batch", "raise_exception",
        "description",
    ]

    /// Loads and checks the configuration file at `path`.
    public static func load(path: String) throws(ConfigurationError) -> EngineConfiguration {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            var isFolder: ObjCBool = false
            let exists = FileManager.default.fileExists(atPath: path, isDirectory: &isFolder)
            if exists && isFolder.boolValue {
                throw ConfigurationError(
                    path: "", message: "this is a folder, not a configuration file",
                    fix: "Pass the path of the JSON file itself.", file: path)
            }
            throw ConfigurationError(
                path: "", message: exists ? "cannot read the configuration file" : "the configuration file does not exist",
                fix: exists ? "Check its permissions." : "Check the path, or run 'dispatchtop' with no arguments for the demo.",
                file: path)
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigurationError(path: "", message: "the file is not valid UTF-8 text", file: path)
        }
        return try parse(text, file: path)
    }

    /// Parses and checks a configuration document.
    public static func parse(_ text: String, file: String? = nil) throws(ConfigurationError) -> EngineConfiguration {
        let root: JSONValue
        let locations: [String: Int]
        do {
            (root, locations) = try JSONParser.parseWithLocations(text)
        } catch {
            throw ConfigurationError(
                path: "", message: "invalid JSON at column \(error.column): \(error.reason)",
                fix: "Fix the JSON syntax there.", file: file, line: error.line)
        }
        let reader = ConfigReader(file: file, locations: locations)
        var configuration = try Document(reader: reader).read(root)
        configuration.source = file
        configuration.locations = locations.merging(lowercasedBlockLocations(root, locations)) { written, _ in written }
        return configuration
    }

    /// Lines of settings-block keys under their lowercased paths.
    ///
    /// Dispatcher options name a key by its lowercased spelling
    /// (`settings.dispatchers.threadpool.max_workers`), so an error about
    /// `MAX_WORKERS` needs the line recorded under that path.
    static func lowercasedBlockLocations(_ root: JSONValue, _ locations: [String: Int]) -> [String: Int] {
        var aliases: [String: Int] = [:]
        for block in root["settings"]?["dispatchers"]?.objectValue ?? JSONObject() {
            let base = "settings.dispatchers.\(block.key)."
            for member in block.value.objectValue ?? JSONObject() where member.key != member.key.lowercased() {
                aliases[base + member.key.lowercased()] = locations[base + member.key]
            }
        }
        return aliases
    }
}

/// The walk over one document; split from the loader so `reader` is in scope.
private struct Document {
    let reader: ConfigReader

    func read(_ root: JSONValue) throws(ConfigurationError) -> EngineConfiguration {
        let top = try reader.object(root, at: "")
        try reader.rejectUnknownKeys(top, allowed: ConfigurationLoader.topKeys, at: "")
        let settings = try readSettings(top["settings"] ?? .object(JSONObject()))
        guard let functionsValue = top["functions"] else {
            throw reader.error("functions", "missing", fix: "Add a \"functions\" list of cached functions (an empty list when you only watch brokers).")
        }
        guard let functionList = functionsValue.arrayValue else {
            throw reader.error("functions", "expected a list of functions, got \(reader.render(functionsValue))")
        }
        var functions: [CachedFunction] = []
        var rules: [InvalidationRule] = []
        for (index, value) in functionList.enumerated() {
            let path = "functions[\(index)]"
            let (function, functionRules) = try readFunction(value, index: index, at: path, settings: settings)
            if let earlier = functions.firstIndex(where: { $0.name == function.name }) {
                throw reader.error(
                    "\(path).name", "the function '\(function.name)' is already declared at functions[\(earlier)]",
                    fix: "Merge the two entries into one.")
            }
            functions.append(function)
            rules.append(contentsOf: functionRules)
        }
        try numberRules(&rules)
        return EngineConfiguration(settings: settings, functions: functions, rules: rules)
    }

    // MARK: - Settings

    private func readSettings(_ value: JSONValue) throws(ConfigurationError) -> EngineSettings {
        let object = try reader.object(value, at: "settings")
        try reader.rejectUnknownKeys(object, allowed: ConfigurationLoader.settingsKeys, at: "settings")
        var settings = EngineSettings()
        if let value = object["default_dispatcher"] {
            settings.defaultDispatcher = try reader.nonEmptyString(value, at: "settings.default_dispatcher")
        }
        if let value = object["raise_exception"] {
            settings.raiseException = try reader.bool(value, at: "settings.raise_exception")
        }
        if let value = object["cache_key_prefix"] {
            settings.cacheKeyPrefix = try reader.string(value, at: "settings.cache_key_prefix")
        }
        if let value = object["brokers"] {
            // Checked by whoever builds the broker, which knows its keys.
            settings.brokers = try reader.object(value, at: "settings.brokers")
        }
        if let value = object["dispatchers"] {
            let blocks = try reader.object(value, at: "settings.dispatchers")
            for member in blocks {
                let path = "settings.dispatchers.\(member.key)"
                settings.dispatchers[member.key] = try readSettingsBlock(member.value, at: path)
            }
        }
        return settings
    }

    /// Reads one dispatcher's settings block, accepting restflow's uppercase
    /// spellings (`MAX_WORKERS`) as the same keys.
    private func readSettingsBlock(_ value: JSONValue, at path: String) throws(ConfigurationError) -> JSONObject {
        let object = try reader.object(value, at: path)
        var block = JSONObject()
        for member in object {
            let key = member.key.lowercased()
            if block[key] != nil {
                throw reader.error(
                    reader.join(path, member.key), "the key '\(key)' is set twice (keys are not case-sensitive here)",
                    fix: "Keep one spelling.")
            }
            block[key] = member.value
        }
        return block
    }

    // MARK: - Functions

    private func readFunction(
        _ value: JSONValue, index: Int, at path: String, settings: EngineSettings
    ) throws(ConfigurationError) -> (CachedFunction, [InvalidationRule]) {
        let object = try reader.object(value, at: path)
        try reader.rejectUnknownKeys(object, allowed: ConfigurationLoader.functionKeys, at: path)
        guard let nameValue = object["name"] else {
            throw reader.error(path, "missing \"name\"", fix: "Give the function its dotted name, e.g. \"shop.views.product_detail\".")
        }
        var function = CachedFunction(name: try reader.nonEmptyString(nameValue, at: "\(path).name"))
        if let keyValue = object["key"] {
            function.key = try readKeyLayout(keyValue, at: "\(path).key")
        }
        if let recompute = object["recompute"], !recompute.isNull {
            function.recompute = try reader.nonEmptyString(recompute, at: "\(path).recompute")
        }
        var rules: [InvalidationRule] = []
        if let rulesValue = object["rules"] {
            guard let list = rulesValue.arrayValue else {
                throw reader.error("\(path).rules", "expected a list of rules, got \(reader.render(rulesValue))")
            }
            for (ruleIndex, ruleValue) in list.enumerated() {
                let rulePath = "\(path).rules[\(ruleIndex)]"
                var rule = try readRule(ruleValue, at: rulePath, function: function, settings: settings)
                rule.functionIndex = index
                rules.append(rule)
            }
        }
        return (function, rules)
    }

    private func readKeyLayout(_ value: JSONValue, at path: String) throws(ConfigurationError) -> CacheKeyLayout {
        let object = try reader.object(value, at: path)
        try reader.rejectUnknownKeys(object, allowed: ConfigurationLoader.keyKeys, at: path)
        var layout = CacheKeyLayout()
        if let value = object["namespace"] {
            layout.namespace = try reader.string(value, at: "\(path).namespace")
        }
        if let value = object["version"] {
            layout.version = try reader.integer(value, at: "\(path).version")
            if layout.version < 1 {
                throw reader.error("\(path).version", "expected a version of 1 or more, got \(layout.version)", fix: "restflow's key versions start at 1.")
            }
        }
        if let value = object["partition"] {
            layout.partition = try reader.stringList(value, at: "\(path).partition")
        }
        if let value = object["identifier"], !value.isNull {
            layout.identifier = try reader.nonEmptyString(value, at: "\(path).identifier")
        }
        return layout
    }

    // MARK: - Rules

    private func readRule(
        _ value: JSONValue, at path: String, function: CachedFunction, settings: EngineSettings
    ) throws(ConfigurationError) -> InvalidationRule {
        let object = try reader.object(value, at: path)
        try reader.rejectUnknownKeys(object, allowed: ConfigurationLoader.ruleKeys, at: path)
        guard let modelValue = object["model"] else {
            throw reader.error(path, "missing \"model\"", fix: "Name the model label the rule watches, e.g. \"shop.Product\".")
        }
        let model = try reader.nonEmptyString(modelValue, at: "\(path).model")
        let labelParts = model.split(separator: ".", omittingEmptySubsequences: false)
        if labelParts.count != 2 || labelParts.contains(where: \.isEmpty) {
            throw reader.error(
                "\(path).model", "'\(model)' is not a model label",
                fix: "Write it as Django's app_label.ModelName, e.g. \"shop.Product\".")
        }
        let fieldMapping = try readFieldMapping(object["field_mapping"], at: "\(path).field_mapping")
        let requireArgs = try readRequireArgs(object["require_args"], mapping: fieldMapping, at: "\(path).require_args")
        let invalidator = try object["invalidator"].flatMap { value throws(ConfigurationError) in
            value.isNull ? nil : try reader.nonEmptyString(value, at: "\(path).invalidator")
        }
        if invalidator != nil && !fieldMapping.isEmpty {
            throw reader.error(
                "\(path).invalidator", "a rule cannot have both an invalidator and a field_mapping",
                fix: "The invalidator does the whole job; remove one of the two.")
        }
        var dispatcher = settings.defaultDispatcher
        if let value = object["dispatcher"], !value.isNull {
            dispatcher = try reader.nonEmptyString(value, at: "\(path).dispatcher")
        }
        var dispatcherConfig = JSONObject()
        if let value = object["dispatcher_config"] {
            dispatcherConfig = try reader.object(value, at: "\(path).dispatcher_config")
        }
        var watchFields: [String]?
        if let value = object["watch_fields"], !value.isNull {
            watchFields = try reader.stringList(value, at: "\(path).watch_fields")
        }
        return InvalidationRule(
            id: try object["id"].map { value throws(ConfigurationError) in try reader.nonEmptyString(value, at: "\(path).id") } ?? "",
            restflowID: try object["restflow_id"].map { value throws(ConfigurationError) in try readRestflowID(value, at: "\(path).restflow_id") } ?? 0,
            functionIndex: 0, functionName: function.name, model: model,
            fieldMapping: fieldMapping, requireArgs: requireArgs,
            triggerOnCreate: try flag(object, "trigger_on_create", at: path) ?? false,
            watchFields: watchFields,
            invalidateWhen: try readConditions(object["invalidate_when"], at: "\(path).invalidate_when"),
            rewarm: try flag(object, "rewarm", at: path) ?? false,
            invalidator: invalidator, dispatcher: dispatcher, dispatcherConfig: dispatcherConfig,
            batch: try flag(object, "batch", at: path) ?? false,
            raiseException: try object["raise_exception"].flatMap { value throws(ConfigurationError) in
                try reader.optionalBool(value, at: "\(path).raise_exception")
            },
            fingerprint: RuleFingerprint.compute(function: function.name, rule: object),
            documentPath: path)
    }

    private func flag(_ object: JSONObject, _ key: String, at path: String) throws(ConfigurationError) -> Bool? {
        guard let value = object[key] else { return nil }
        return try reader.bool(value, at: "\(path).\(key)")
    }

    private func readRestflowID(_ value: JSONValue, at path: String) throws(ConfigurationError) -> Int {
        let number = try reader.integer(value, at: path)
        if number < 1 {
            throw reader.error(path, "expected a positive integer, got \(number)", fix: "restflow numbers its rules from 1.")
        }
        return number
    }

    private func readFieldMapping(_ value: JSONValue?, at path: String) throws(ConfigurationError) -> [FieldMapping] {
        guard let value, !value.isNull else { return [] }
        let object = try reader.object(value, at: path)
        var mapping: [FieldMapping] = []
        for member in object {
            let memberPath = reader.join(path, member.key)
            let attribute = try reader.nonEmptyString(member.value, at: memberPath)
            if attribute.split(separator: ".", omittingEmptySubsequences: false).contains(where: \.isEmpty) {
                throw reader.error(memberPath, "the attribute path '\(attribute)' has an empty segment", fix: "Write it as dotted names, e.g. \"team.owner.id\".")
            }
            mapping.append(FieldMapping(argument: member.key, path: attribute))
        }
        return mapping
    }

    private func readRequireArgs(
        _ value: JSONValue?, mapping: [FieldMapping], at path: String
    ) throws(ConfigurationError) -> RequireArgs {
        guard let value else { return .all }
        switch value {
        case .bool(true): return .all
        case .bool(false): return .none
        case .array:
            let names = try reader.stringList(value, at: path)
            let mapped = mapping.map(\.argument)
            for (index, name) in names.enumerated() where !mapped.contains(name) {
                let fix = mapped.isEmpty
                    ? "Add '\(name)' to field_mapping, or remove it from require_args."
                    : "field_mapping maps \(mapped.map { "'\($0)'" }.joined(separator: ", ")); a rule requiring an unmapped argument would never run."
                throw reader.error("\(path)[\(index)]", "requires the argument '\(name)', which field_mapping does not map", fix: fix)
            }
            return .only(names)
        default:
            throw reader.error(path, "expected true, false or a list of argument names, got \(reader.render(value))")
        }
    }

    private func readConditions(_ value: JSONValue?, at path: String) throws(ConfigurationError) -> [Condition] {
        guard let value, !value.isNull else { return [] }
        let object = try reader.object(value, at: path)
        var conditions: [Condition] = []
        for member in object {
            let name = member.key.hasPrefix("!") ? String(member.key.dropFirst()) : member.key
            if name.isEmpty || name.split(separator: ".", omittingEmptySubsequences: false).contains(where: \.isEmpty) {
                throw reader.error(reader.join(path, member.key), "'\(member.key)' is not an attribute path", fix: "Write dotted names, with '!' in front to negate.")
            }
            conditions.append(Condition(key: member.key, expected: member.value))
        }
        return conditions
    }

    // MARK: - Ids

    /// Derives missing ids, numbers rules for restflow, and rejects duplicates.
    private func numberRules(_ rules: inout [InvalidationRule]) throws(ConfigurationError) {
        var seenIDs: [String: String] = [:]
        var seenNumbers: [Int: String] = [:]
        for index in rules.indices {
            if rules[index].id.isEmpty {
                rules[index].id = "\(rules[index].functionName)#\(rules[index].fingerprint.prefix(8))"
            }
            if rules[index].restflowID == 0 {
                rules[index].restflowID = index + 1
            }
            let rule = rules[index]
            if let earlier = seenIDs[rule.id] {
                throw reader.error(
                    "\(rule.documentPath).id", "the rule id '\(rule.id)' is already used by \(earlier)",
                    fix: "Give each rule its own \"id\" (two rules with the same content also derive the same id).")
            }
            if let earlier = seenNumbers[rule.restflowID] {
                throw reader.error(
                    "\(rule.documentPath).restflow_id", "restflow id \(rule.restflowID) is already used by \(earlier)",
                    fix: "Each rule needs its own restflow id; leave it out to use the rule's position.")
            }
            seenIDs[rule.id] = rule.documentPath
            seenNumbers[rule.restflowID] = rule.documentPath
        }
    }
}

/// A content hash of a rule, so a stable id survives reordering and a replay
/// can tell that a rule changed since its batch was journalled.
public enum RuleFingerprint {
    /// FNV-1a (64-bit) over the function name and the rule's JSON with sorted
    /// keys, leaving out `id` and `description`; 16 hex digits.
    public static func compute(function: String, rule: JSONObject) -> String {
        var content = rule
        content["id"] = nil
        content["description"] = nil
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in Array(function.utf8) + [0] + JSONWriter.bytes(.object(content), sortKeys: true) {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01B3
        }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}
