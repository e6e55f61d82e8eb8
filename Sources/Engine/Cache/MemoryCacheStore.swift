import Synchronization

/// The embedded in-memory cache store.
///
/// Keys are stored in a trie of their `::`-separated segments, which is how
/// restflow builds keys (`ns::function::partition::rest`). Deleting a prefix
/// walks down to the prefix's node and cuts that subtree off, so the cost
/// grows with the number of keys deleted, not with the size of the store.
/// When the prefix ends inside a segment, only the children of the last
/// complete segment's node are examined.
public final class MemoryCacheStore: CacheStore {
    private final class Node {
        var value: [UInt8]?
        var children: [String: Node] = [:]
        /// Entries in this subtree, this node's own included.
        var count = 0
    }

    private let root = Mutex(Node())

    public init() {}

    public var label: String { "memory" }

    public var entryCount: Int? { root.withLock { $0.count } }

    public func set(_ key: String, _ value: [UInt8]) throws(CacheStoreError) {
        let segments = Self.segments(of: key)
        root.withLock { root in
            var path: [Node] = [root]
            var node = root
            for segment in segments {
                if let child = node.children[segment] {
                    node = child
                } else {
                    let child = Node()
                    node.children[segment] = child
                    node = child
                }
                path.append(node)
            }
            if node.value == nil {
                for ancestor in path { ancestor.count += 1 }
            }
            node.value = value
        }
    }

    public func get(_ key: String) throws(CacheStoreError) -> [UInt8]? {
        let segments = Self.segments(of: key)
        return root.withLock { root in
            var node = root
            for segment in segments {
                guard let child = node.children[segment] else { return nil }
                node = child
            }
            return node.value
        }
    }

    @discardableResult
    public func delete(_ key: String) throws(CacheStoreError) -> Bool {
        let segments = Self.segments(of: key)
        return root.withLock { root in
            var path: [(Node, String)] = []
            var node = root
            for segment in segments {
                guard let child = node.children[segment] else { return false }
                path.append((node, segment))
                node = child
            }
            guard node.value != nil else { return false }
            node.value = nil
            node.count -= 1
            for (ancestor, _) in path { ancestor.count -= 1 }
            Self.prune(path)
            return true
        }
    }

    @discardableResult
    public func deletePrefix(_ prefix: String) throws(CacheStoreError) -> Int {
        var segments = Self.segments(of: prefix)
        let partial = segments.removeLast()
        if partial.hasSuffix(":") {
            return deletePrefixByScan(prefix)
        }
        return root.withLock { root in
            var path: [(Node, String)] = []
            var node = root
            for segment in segments {
                guard let child = node.children[segment] else { return 0 }
                path.append((node, segment))
                node = child
            }
            var removed = 0
            if partial.isEmpty {
                // The prefix ends with "::": every key below this node matches,
                // but not the node's own key (it lacks the trailing separator).
                for child in node.children.values { removed += child.count }
                node.children.removeAll()
            } else {
                for (segment, child) in node.children where segment.hasPrefix(partial) {
                    removed += child.count
                    node.children[segment] = nil
                }
            }
            node.count -= removed
            for (ancestor, _) in path { ancestor.count -= removed }
            Self.prune(path)
            return removed
        }
    }

    /// Deletes by testing each key under the deepest complete segment.
    ///
    /// A prefix whose last piece ends in ':' may end halfway through a "::"
    /// separator of a matching key: "a:" matches "a::b", and "a:::" (pieces
    /// "a" and ":") matches "a::::b" (pieces "a", "" and "b"). Such a last
    /// piece cannot be matched segment-wise.
    private func deletePrefixByScan(_ prefix: String) -> Int {
        var segments = Self.segments(of: prefix)
        segments.removeLast()
        var keys: [String] = []
        root.withLock { root in
            var node = root
            for segment in segments {
                guard let child = node.children[segment] else { return }
                node = child
            }
            Self.collectKeys(node, path: segments, into: &keys)
        }
        var removed = 0
        for key in keys where key.hasPrefix(prefix) {
            if (try? delete(key)) == true { removed += 1 }
        }
        return removed
    }

    /// Appends the key of every entry in the subtree; a node's key is its
    /// path of segments joined by "::".
    private static func collectKeys(_ node: Node, path: [String], into keys: inout [String]) {
        if node.value != nil { keys.append(path.joined(separator: "::")) }
        for (segment, child) in node.children {
            collectKeys(child, path: path + [segment], into: &keys)
        }
    }

    /// Removes nodes on `path` left with no entries, deepest first.
    private static func prune(_ path: [(Node, String)]) {
        for (parent, segment) in path.reversed() {
            guard let child = parent.children[segment], child.count == 0 else { return }
            parent.children[segment] = nil
        }
    }

    /// Splits on "::". A key ending in "::" yields a final empty segment.
    static func segments(of key: String) -> [String] {
        var text = key
        return text.withUTF8 { bytes in
            var result: [String] = []
            result.reserveCapacity(5)
            var start = 0
            var index = 0
            while index < bytes.count {
                if bytes[index] == UInt8(ascii: ":") && index + 1 < bytes.count && bytes[index + 1] == UInt8(ascii: ":") {
                    result.append(String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self))
                    index += 2
                    start = index
                } else {
                    index += 1
                }
            }
            result.append(String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<bytes.count]), as: UTF8.self))
            return result
        }
    }
}
