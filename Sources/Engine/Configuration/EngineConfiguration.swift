/// A loaded configuration: global settings and the cached functions with their
/// invalidation rules.
public struct EngineConfiguration: Sendable {
    public var settings: EngineSettings
    public var functions: [CachedFunction]
    /// Every rule of every function, in registration order (functions in
    /// document order, then each function's rules in order).
    public var rules: [InvalidationRule]
    /// The file it was read from, for messages.
    public var source: String?
    /// Line numbers by document path, for messages about values found valid
    /// in the document but rejected later (an unknown dispatcher name).
    public var locations: [String: Int]

    public init(
        settings: EngineSettings = EngineSettings(), functions: [CachedFunction] = [], rules: [InvalidationRule] = [],
        source: String? = nil, locations: [String: Int] = [:]
    ) {
        self.settings = settings
        self.functions = functions
        self.rules = rules
        self.source = source
        self.locations = locations
    }

    /// Builds a ``ConfigurationError`` for a document path of this configuration.
    public func error(at path: String, _ message: String, fix: String? = nil) -> ConfigurationError {
        ConfigReader(file: source, locations: locations).error(path, message, fix: fix)
    }

    /// The function a rule belongs to.
    public func function(of rule: InvalidationRule) -> CachedFunction {
        functions[rule.functionIndex]
    }
}

/// Global settings: the default dispatcher, the error policy and one settings
/// block per dispatcher name.
public struct EngineSettings: Sendable {
    public var defaultDispatcher: String
    public var raiseException: Bool
    /// Settings blocks by dispatcher name, keys lowercased.
    public var dispatchers: [String: JSONObject]
    /// Django's cache `KEY_PREFIX`; keys are stored as `KEY_PREFIX:version:key`.
    public var cacheKeyPrefix: String
    /// Settings of the task systems behind a real broker (key prefixes,
    /// serializers, the django-q secret), by system name, as written.
    public var brokers: JSONObject = JSONObject()

    public init(
        defaultDispatcher: String = "inline", raiseException: Bool = false, dispatchers: [String: JSONObject] = [:],
        cacheKeyPrefix: String = ""
    ) {
        self.defaultDispatcher = defaultDispatcher
        self.raiseException = raiseException
        self.dispatchers = dispatchers
        self.cacheKeyPrefix = cacheKeyPrefix
    }

    /// The merged settings block of a dispatcher, empty when none is set.
    public func block(for dispatcher: String) -> JSONObject {
        dispatchers[dispatcher] ?? JSONObject()
    }
}

/// A cached function: its name and how its cache keys are built.
public struct CachedFunction: Sendable, Equatable {
    /// The dotted function name, e.g. `shop.views.product_detail`.
    public var name: String
    public var key: CacheKeyLayout
    /// Name of the recomputer that can rebuild an entry, for `rewarm` rules.
    public var recompute: String?

    public init(name: String, key: CacheKeyLayout = CacheKeyLayout(), recompute: String? = nil) {
        self.name = name
        self.key = key
        self.recompute = recompute
    }
}

/// When a rule's arguments must be present.
public enum RequireArgs: Sendable, Equatable {
    /// Every mapped argument must be non-null (the default).
    case all
    /// Null arguments pass through.
    case none
    /// Only the listed arguments must be non-null.
    case only([String])
}

/// One argument of a rule: its name and the dotted attribute path it is read from.
public struct FieldMapping: Sendable, Equatable {
    public var argument: String
    public var path: String
    /// `path` split on dots, computed once.
    public var segments: [String]

    public init(argument: String, path: String) {
        self.argument = argument
        self.path = path
        segments = path.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
    }
}

/// One `invalidate_when` condition.
public struct Condition: Sendable, Equatable {
    /// The key as written, `!` included.
    public var key: String
    public var negated: Bool
    public var segments: [String]
    public var expected: JSONValue

    public init(key: String, expected: JSONValue) {
        self.key = key
        negated = key.hasPrefix("!")
        let path = negated ? String(key.dropFirst()) : key
        segments = path.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        self.expected = expected
    }
}

/// An invalidation rule: when an event on `model` should drop or recompute
/// entries of one cached function, and where that work runs.
public struct InvalidationRule: Sendable, Equatable {
    /// The stable rule id, declared or derived from the function name and the rule's content.
    public var id: String
    /// The id restflow gives this rule: its 1-based position in registration
    /// order. Broker payloads for real Python workers carry this number.
    public var restflowID: Int
    public var functionIndex: Int
    public var functionName: String
    public var model: String
    public var fieldMapping: [FieldMapping]
    public var requireArgs: RequireArgs
    public var triggerOnCreate: Bool
    public var watchFields: [String]?
    public var invalidateWhen: [Condition]
    public var rewarm: Bool
    public var invalidator: String?
    /// The dispatcher name after applying the settings default.
    public var dispatcher: String
    public var dispatcherConfig: JSONObject
    public var batch: Bool
    public var raiseException: Bool?
    /// A hash of the rule's content; a replay compares it to notice a changed rule.
    public var fingerprint: String
    /// Where the rule sits in the document, e.g. `functions[1].rules[0]`.
    public var documentPath: String
}
