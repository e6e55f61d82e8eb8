import Synchronization

/// What an invalidator or the rule runner works on: the cache store and the
/// key layout settings.
public struct CacheContext: Sendable {
    public var store: any CacheStore
    /// Django's `KEY_PREFIX`.
    public var keyPrefix: String

    public init(store: any CacheStore, keyPrefix: String = "") {
        self.store = store
        self.keyPrefix = keyPrefix
    }

    /// The storage prefix restflow's `delete_by_prefix` drops for these arguments.
    public func storagePrefix(of function: CachedFunction, arguments: JSONObject) -> String {
        DjangoCacheKey.make(
            prefix: keyPrefix, version: function.key.version,
            key: function.key.prefix(function: function.name, arguments: arguments))
    }

    /// The storage key of one entry.
    public func storageKey(of function: CachedFunction, arguments: JSONObject) -> String {
        DjangoCacheKey.make(
            prefix: keyPrefix, version: function.key.version,
            key: function.key.key(function: function.name, arguments: arguments))
    }
}

/// Custom invalidation code that replaces `field_mapping` for a rule. It runs
/// in this process and receives the whole event.
public protocol Invalidator: Sendable {
    /// Drops or rebuilds entries of `function` for `event` (the event's JSON form).
    func invalidate(function: CachedFunction, event: JSONObject, cache: CacheContext) throws
}

/// Invalidators by name.
public final class InvalidatorRegistry: Sendable {
    private let entries: Mutex<[String: any Invalidator]>

    public init(_ entries: [String: any Invalidator] = [:]) {
        self.entries = Mutex(entries)
    }

    /// `drop_all` and `drop_matching_fields`.
    public static var builtIn: InvalidatorRegistry {
        InvalidatorRegistry(["drop_all": DropAllInvalidator(), "drop_matching_fields": DropMatchingFieldsInvalidator()])
    }

    public func register(_ name: String, _ invalidator: any Invalidator) {
        entries.withLock { $0[name] = invalidator }
    }

    public func invalidator(named name: String) -> (any Invalidator)? {
        entries.withLock { $0[name] }
    }

    public var names: [String] { entries.withLock { $0.keys.sorted() } }
}

/// Drops every entry of the function, whatever the event.
public struct DropAllInvalidator: Invalidator {
    public init() {}
    public func invalidate(function: CachedFunction, event: JSONObject, cache: CacheContext) throws {
        try cache.store.deletePrefix(cache.storagePrefix(of: function, arguments: JSONObject()))
    }
}

/// Drops the partition whose arguments equal the record's fields of the same
/// names: for a partition on `product_id`, the record's `product_id` field.
/// Partition arguments the record lacks are left out of the prefix.
public struct DropMatchingFieldsInvalidator: Invalidator {
    public init() {}
    public func invalidate(function: CachedFunction, event: JSONObject, cache: CacheContext) throws {
        let fields = event["fields"]?.objectValue ?? JSONObject()
        var arguments = JSONObject()
        for name in function.key.partition {
            if let value = fields[name] { arguments[name] = value }
        }
        try cache.store.deletePrefix(cache.storagePrefix(of: function, arguments: arguments))
    }
}

/// Rebuilds one cache entry for a `rewarm` rule.
public protocol Recomputer: Sendable {
    /// Returns the value to store for `function` called with `arguments`.
    func recompute(function: CachedFunction, arguments: JSONObject) throws -> [UInt8]
}

/// Recomputers by name.
public final class RecomputerRegistry: Sendable {
    private let entries: Mutex<[String: any Recomputer]>

    public init(_ entries: [String: any Recomputer] = [:]) {
        self.entries = Mutex(entries)
    }

    /// `snapshot`: stores the arguments and the time of the recompute as JSON.
    public static var builtIn: RecomputerRegistry {
        RecomputerRegistry(["snapshot": SnapshotRecomputer()])
    }

    public func register(_ name: String, _ recomputer: any Recomputer) {
        entries.withLock { $0[name] = recomputer }
    }

    public func recomputer(named name: String) -> (any Recomputer)? {
        entries.withLock { $0[name] }
    }

    public var names: [String] { entries.withLock { $0.keys.sorted() } }
}

/// Stores `{"function": ..., "arguments": ..., "recomputed_at_us": ...}`, a
/// stand-in for calling the real function, which lives in the application.
public struct SnapshotRecomputer: Recomputer {
    public init() {}
    public func recompute(function: CachedFunction, arguments: JSONObject) throws -> [UInt8] {
        let value: JSONValue = [
            "function": .string(function.name), "arguments": .object(arguments),
            "recomputed_at_us": .int(UTCTime.nowMicroseconds()),
        ]
        return JSONWriter.bytes(value)
    }
}
