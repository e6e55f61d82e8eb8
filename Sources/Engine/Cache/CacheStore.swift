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
    /// The number of entries, when the store can count them cheaply.
    var entryCount: Int? { get }
}
