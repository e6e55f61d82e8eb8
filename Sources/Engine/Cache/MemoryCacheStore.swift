import Foundation
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
    /// A trie node. Only code holding the store's lock touches its properties,
    /// so the runtime's exclusivity checks on every write are turned off.
    final class Node {
        @exclusivity(unchecked) var value: [UInt8]?
        @exclusivity(unchecked) var children = SegmentTable<Node>()
        /// Entries in this subtree, this node's own included.
        @exclusivity(unchecked) var count = 0
        /// The number of ``HeadPaths`` paths the node is on. Those paths
        /// must be forgotten before the node leaves the trie.
        @exclusivity(unchecked) var rememberedBy = 0

        var isRemembered: Bool { rememberedBy > 0 }
    }

    /// One step of a walk down the trie: the parent and the hash of the
    /// child's segment, kept so counts and pruning need no second lookup.
    /// Unmanaged is safe here: the tree owns every node while the lock is
    /// held, and a pruned node is never touched after it is unlinked.
    struct Step {
        var parent: Unmanaged<Node>
        var child: Unmanaged<Node>
        var hash: UInt64
    }

    private let root = ParkingMutex(Node())
    /// Touched only while `root`'s lock is held.
    nonisolated(unsafe) let heads = HeadPaths()
    /// Seeds the segment hash, so colliding keys cannot be prepared offline.
    private let seed = UInt64.random(in: UInt64.min...UInt64.max)

    public init() {}

    public var label: String { "memory" }

    public var entryCount: Int? { root.withLock { $0.count } }

    public func set(_ key: String, _ value: [UInt8]) throws(CacheStoreError) {
        let seed = seed
        root.withLock { root in
            var text = key
            text.withUTF8 { bytes in
                var path: [Node] = [root]
                var node = root
                Self.forEachSegment(bytes) { segment, _ in
                    SegmentKey.with(segment, seed: seed) { compared, hash in
                        if let child = node.children.find(compared, hash: hash) {
                            node = child
                        } else {
                            let child = Node()
                            node.children.insert(compared, hash: hash, node: child)
                            node = child
                        }
                    }
                    path.append(node)
                }
                if node.value == nil {
                    for ancestor in path { ancestor.count += 1 }
                }
                node.value = value
            }
        }
    }

    public func get(_ key: String) throws(CacheStoreError) -> [UInt8]? {
        let seed = seed
        return root.withLock { root in
            var text = key
            return text.withUTF8 { bytes in
                var node: Node? = root
                Self.forEachSegment(bytes) { segment, _ in
                    guard let current = node else { return }
                    node = SegmentKey.with(segment, seed: seed) { compared, hash in
                        current.children.find(compared, hash: hash)
                    }
                }
                return node?.value
            }
        }
    }

    @discardableResult
    public func delete(_ key: String) throws(CacheStoreError) -> Bool {
        let seed = seed
        return root.withLock { root in
            var text = key
            return text.withUTF8 { bytes in
                Self.withSeparators(bytes) { separators in
                    Self.walk(root, bytes, separators: separators, seed: seed, includingLast: true) { node, path in
                        guard let node, node.value != nil else { return false }
                        node.value = nil
                        node.count -= 1
                        for step in path { step.parent._withUnsafeGuaranteedRef { $0.count -= 1 } }
                        Self.prune(path, heads: heads)
                        return true
                    }
                }
            }
        }
    }

    @discardableResult
    public func deletePrefix(_ prefix: String) throws(CacheStoreError) -> Int {
        var text = prefix
        return text.withUTF8 { bytes in deletePrefix(validUTF8: bytes) }
    }

    @discardableResult
    public func deletePrefix(utf8 prefix: UnsafeBufferPointer<UInt8>) throws(CacheStoreError) -> Int {
        deletePrefix(validUTF8: prefix)
    }

    /// Remembers, under `hint`, the trie path of the prefix up to its last
    /// complete segment, and starts the next drop under that hint from
    /// there when its leading bytes are the same.
    @discardableResult
    public func deletePrefix(utf8 prefix: UnsafeBufferPointer<UInt8>, hint: Int) throws(CacheStoreError) -> Int {
        deletePrefix(validUTF8: prefix, hint: hint)
    }

    private func deletePrefix(validUTF8 bytes: UnsafeBufferPointer<UInt8>, hint: Int? = nil) -> Int {
        let seed = seed
        let heads = heads
        let removed = root.withLock { root -> Int? in
            // Each complete segment is looked up as soon as its separator
            // is found, so the prefix is read once.
            withUnsafeTemporaryAllocation(of: Step.self, capacity: bytes.count / 2 + 1) { steps -> Int? in
                var depth = 0
                var node = Unmanaged.passUnretained(root)
                var start = 0
                if let hint, let resumed = heads.resume(hint: hint, prefix: bytes, into: steps) {
                    depth = resumed.depth
                    node = steps[depth - 1].child
                    start = resumed.length
                }
                let resumedDepth = depth
                // Where the last complete segment starts, and the steps before it.
                var lastSegmentStart = start
                var lastSegmentDepth = depth
                var found = true
                var index = start
                let colon = UInt8(ascii: ":")
                while index + 1 < bytes.count {
                    // Finds separators left to right, as withSeparators does.
                    guard bytes[index] == colon && bytes[index + 1] == colon else {
                        index += 1
                        continue
                    }
                    let segment = UnsafeBufferPointer(rebasing: bytes[start..<index])
                    lastSegmentStart = start
                    lastSegmentDepth = depth
                    index += 2
                    start = index
                    guard found else { continue }
                    let parent = node
                    let child = SegmentKey.with(segment, seed: seed) { compared, hash -> Unmanaged<Node>? in
                        guard let child = parent._withUnsafeGuaranteedRef({ $0.children.findUnretained(compared, hash: hash) })
                        else { return nil }
                        steps[depth] = Step(parent: parent, child: child, hash: hash)
                        depth += 1
                        return child
                    }
                    if let child { node = child } else { found = false }
                }
                if start < bytes.count && bytes.last == UInt8(ascii: ":") {
                    // Ends inside a separator: see deletePrefixByScan.
                    return nil
                }
                guard found else { return 0 }
                if let hint, lastSegmentDepth > resumedDepth {
                    heads.remember(
                        hint: hint, head: UnsafeBufferPointer(rebasing: bytes[0..<lastSegmentStart]),
                        path: UnsafeBufferPointer(rebasing: steps[0..<lastSegmentDepth]))
                }
                let partial = UnsafeBufferPointer(rebasing: bytes[start...])
                return Self.cut(
                    node.takeUnretainedValue(), partial: partial, path: UnsafeBufferPointer(rebasing: steps[0..<depth]),
                    heads: heads)
            }
        }
        return removed ?? deletePrefixByScan(String(decoding: bytes, as: UTF8.self))
    }

    /// Removes the entries below `node` whose keys go on with `partial`,
    /// updates the counts on `path` and prunes it; returns how many went.
    private static func cut(
        _ node: Node, partial: UnsafeBufferPointer<UInt8>, path: UnsafeBufferPointer<Step>, heads: HeadPaths
    ) -> Int {
        var removed = 0
        if partial.isEmpty {
            // The prefix ends with "::": every key below this node matches,
            // but not the node's own key (it lacks the trailing separator).
            removed = node.count - (node.value == nil ? 0 : 1)
            if heads.isRemembering, node.children.containsNode(where: { $0.isRemembered }) {
                heads.forgetAll()
            }
            node.children.removeAll()
        } else {
            // A prefix ending inside a segment compares as `String`
            // does, like the rest of the store.
            let partialText = String(decoding: partial, as: UTF8.self)
            for child in node.children.removeAll(where: { $0.segment.hasPrefix(partialText) }) {
                if child.isRemembered { heads.forgetAll() }
                removed += child.count
            }
        }
        node.count -= removed
        for step in path { step.parent._withUnsafeGuaranteedRef { $0.count -= removed } }
        Self.prune(path, heads: heads)
        return removed
    }

    /// Walks down the complete segments of `key` (and its last piece too when
    /// `includingLast`), then calls `body` with the node reached (nil when a
    /// segment is missing) and the steps taken, root first. `separators`
    /// are the offsets of the key's separators (see ``withSeparators(_:_:)``).
    private static func walk<Result>(
        _ root: Node, _ key: UnsafeBufferPointer<UInt8>, separators: UnsafeBufferPointer<Int>, seed: UInt64,
        includingLast: Bool, _ body: (Node?, UnsafeBufferPointer<Step>) -> Result
    ) -> Result {
        withUnsafeTemporaryAllocation(of: Step.self, capacity: separators.count + 1) { steps in
            var depth = 0
            var node: Node? = root
            var start = 0
            let pieces = includingLast ? separators.count + 1 : separators.count
            for piece in 0..<pieces {
                guard let parent = node else { break }
                let end = piece < separators.count ? separators[piece] : key.count
                let segment = UnsafeBufferPointer(rebasing: key[start..<end])
                start = end + 2
                node = SegmentKey.with(segment, seed: seed) { compared, hash in
                    guard let child = parent.children.find(compared, hash: hash) else { return nil }
                    steps[depth] = Step(parent: .passUnretained(parent), child: .passUnretained(child), hash: hash)
                    depth += 1
                    return child
                }
            }
            return body(node, UnsafeBufferPointer(rebasing: steps[0..<depth]))
        }
    }

    /// Calls `body` with the offsets of the "::" separators of `key`, found
    /// left to right in one pass as ``forEachSegment(_:_:)`` splits them.
    /// After a separator the search goes on two bytes later, so ":::"
    /// contains one separator.
    private static func withSeparators<Result>(
        _ key: UnsafeBufferPointer<UInt8>, _ body: (UnsafeBufferPointer<Int>) -> Result
    ) -> Result {
        withUnsafeTemporaryAllocation(of: Int.self, capacity: key.count / 2 + 1) { offsets in
            var count = 0
            var index = 0
            let colon = UInt8(ascii: ":")
            while index + 1 < key.count {
                if key[index] == colon && key[index + 1] == colon {
                    offsets[count] = index
                    count += 1
                    index += 2
                } else {
                    index += 1
                }
            }
            return body(UnsafeBufferPointer(rebasing: offsets[0..<count]))
        }
    }

    /// Removes nodes on `path` left with no entries, deepest first.
    private static func prune(_ path: UnsafeBufferPointer<Step>, heads: HeadPaths) {
        for step in path.reversed() {
            guard step.child._withUnsafeGuaranteedRef({ $0.count }) == 0 else { return }
            let child = step.child.takeUnretainedValue()
            if child.isRemembered { heads.forgetAll() }
            step.parent._withUnsafeGuaranteedRef { $0.children.remove(child, hash: step.hash) }
        }
    }

    /// Calls `body` with each "::"-separated piece of `key`, left to right;
    /// a key ending in "::" yields a final empty piece.
    private static func forEachSegment(
        _ key: UnsafeBufferPointer<UInt8>, _ body: (UnsafeBufferPointer<UInt8>, _ isLast: Bool) -> Void
    ) {
        var start = 0
        while let separator = separator(in: key, from: start) {
            body(UnsafeBufferPointer(rebasing: key[start..<separator]), false)
            start = separator + 2
        }
        body(UnsafeBufferPointer(rebasing: key[start..<key.count]), true)
    }

    /// Returns the offset of the first "::" at or after `start`, scanning left
    /// to right as ``forEachSegment(_:_:)`` splits. memchr finds each ':'.
    private static func separator(in key: UnsafeBufferPointer<UInt8>, from start: Int) -> Int? {
        guard let base = key.baseAddress else { return nil }
        var from = start
        while from + 1 < key.count {
            guard let found = memchr(base + from, Int32(UInt8(ascii: ":")), key.count - 1 - from) else { return nil }
            let offset = base.distance(to: found.assumingMemoryBound(to: UInt8.self))
            if key[offset + 1] == UInt8(ascii: ":") { return offset }
            from = offset + 1
        }
        return nil
    }

    /// Deletes by testing each key under the deepest complete segment.
    ///
    /// A prefix whose last piece ends in ':' may end halfway through a "::"
    /// separator of a matching key: "a:" matches "a::b", and "a:::" (pieces
    /// "a" and ":") matches "a::::b" (pieces "a", "" and "b"). Such a last
    /// piece cannot be matched segment-wise.
    private func deletePrefixByScan(_ prefix: String) -> Int {
        let seed = seed
        let keys = root.withLock { root in
            var keys: [String] = []
            var text = prefix
            text.withUTF8 { bytes in
                Self.withSeparators(bytes) { separators in
                    Self.walk(root, bytes, separators: separators, seed: seed, includingLast: false) { node, _ in
                        guard let node else { return }
                        Self.collectKeys(node, path: Self.segmentTexts(bytes), into: &keys)
                    }
                }
            }
            return keys
        }
        var removed = 0
        for key in keys where key.hasPrefix(prefix) {
            if (try? delete(key)) == true { removed += 1 }
        }
        return removed
    }

    /// Returns the complete segments of `key` (all but its last piece) as text.
    private static func segmentTexts(_ key: UnsafeBufferPointer<UInt8>) -> [String] {
        var result: [String] = []
        forEachSegment(key) { segment, isLast in
            if !isLast { result.append(String(decoding: segment, as: UTF8.self)) }
        }
        return result
    }

    /// Appends the key of every entry in the subtree; a node's key is its
    /// path of segments joined by "::".
    private static func collectKeys(_ node: Node, path: [String], into keys: inout [String]) {
        if node.value != nil { keys.append(path.joined(separator: "::")) }
        for entry in node.children.entries {
            collectKeys(entry.node, path: path + [entry.segment], into: &keys)
        }
    }
}
