/// A cache operation that failed.
public struct CacheStoreError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Where cached entries live. Keys are complete storage keys
/// (`KEY_PREFIX:version:namespace::function::...`).
public protocol CacheStore: Sendable {
    /// A short description for the console header, e.g. `memory` or a URL without its password.
    var label: String { get }
    func set(_ key: String, _ value: [UInt8]) throws(CacheStoreError)
    func get(_ key: String) throws(CacheStoreError) -> [UInt8]?
    /// Deletes one key; returns whether it existed.
    @discardableResult func delete(_ key: String) throws(CacheStoreError) -> Bool
    /// Deletes every key that starts with `prefix`; returns how many were deleted.
    @discardableResult func deletePrefix(_ prefix: String) throws(CacheStoreError) -> Int
    /// Deletes every key that starts with `prefix` (valid UTF-8), as
    /// ``deletePrefix(_:)`` does. The default builds a `String`, and a store
    /// that works on bytes skips that step.
    @discardableResult func deletePrefix(utf8 prefix: UnsafeBufferPointer<UInt8>) throws(CacheStoreError) -> Int
    /// Deletes as ``deletePrefix(utf8:)`` does. `hint` is a caller's number
    /// (the rule runner passes the rule's index) under which prefixes
    /// usually share everything up to their last segment, so a store may
    /// remember where that part leads. The hint never changes what is
    /// deleted, and the default ignores it.
    @discardableResult func deletePrefix(utf8 prefix: UnsafeBufferPointer<UInt8>, hint: Int) throws(CacheStoreError) -> Int
    /// Deletes every key that starts with any of `prefixes`, and returns one
    /// result per prefix, in order: how many keys it deleted, or why it failed.
    ///
    /// A key that matches several prefixes is deleted once. The rule runner
    /// calls this once per batch with the drops of consecutive rules, so a
    /// store can serve them together (one lock, one scan). The default calls
    /// ``deletePrefix(_:)`` for each prefix in turn.
    func deletePrefixes(_ prefixes: [String]) -> [Result<Int, CacheStoreError>]
    /// The number of entries, when the store can count them cheaply.
    var entryCount: Int? { get }
    /// The store's reachability, read about once a second by the console's
    /// sampling thread. nil for a store in this process, which the default returns.
    var status: CacheStatus? { get }
}

extension CacheStore {
    public var status: CacheStatus? { nil }

    @discardableResult
    public func deletePrefix(utf8 prefix: UnsafeBufferPointer<UInt8>) throws(CacheStoreError) -> Int {
        try deletePrefix(String(decoding: prefix, as: UTF8.self))
    }

    @discardableResult
    public func deletePrefix(utf8 prefix: UnsafeBufferPointer<UInt8>, hint: Int) throws(CacheStoreError) -> Int {
        try deletePrefix(utf8: prefix)
    }

    public func deletePrefixes(_ prefixes: [String]) -> [Result<Int, CacheStoreError>] {
        prefixes.map { prefix in Result { () throws(CacheStoreError) -> Int in try deletePrefix(prefix) } }
    }
}
