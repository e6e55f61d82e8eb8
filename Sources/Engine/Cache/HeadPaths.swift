import Foundation

extension MemoryCacheStore {
    /// The trie paths of recent drop prefixes up to their last complete
    /// segment, by a caller's hint. The rule runner passes the rule's index.
    /// Every drop of a rule shares the head of its keys up to the partition,
    /// so the next drop starts below that head. It skips hashing and looking
    /// up each of the head's segments again.
    ///
    /// Invariant: a remembered path is attached to the trie. Each node on a
    /// path is held strongly and counts the paths it is on, and removing a
    /// node whose count is not zero forgets every path first.
    ///
    /// Touched only while the store's lock is held.
    final class HeadPaths {
        /// A power of two. Hints that share a slot replace each other.
        static let capacity = 64

        /// The maximum head length remembered, in bytes, and its maximum number of segments.
        static let maximumLength = 256
        static let maximumDepth = 16

        // Heads and steps live in memory of their own, one fixed-size area
        // per slot, so that resuming copies them without retaining anything.
        // The store's lock orders every access, so the runtime's exclusivity
        // checks are turned off on the properties below.
        private let headBytes = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity * maximumLength)
        private let steps = UnsafeMutablePointer<Step>.allocate(capacity: capacity * maximumDepth)
        /// The head length of each slot in bytes, 0 for an empty slot.
        @exclusivity(unchecked) private var lengths = [Int](repeating: 0, count: capacity)
        /// The number of steps of each slot.
        @exclusivity(unchecked) private var depths = [Int](repeating: 0, count: capacity)
        /// The nodes of each slot's steps, held so that the steps stay valid.
        @exclusivity(unchecked) private var nodes = [[Node]](repeating: [], count: capacity)
        @exclusivity(unchecked) private var rememberedCount = 0

        deinit {
            headBytes.deallocate()
            steps.deallocate()
        }

        /// Whether any path is remembered.
        var isRemembering: Bool { rememberedCount > 0 }

        private static func slot(_ hint: Int) -> Int {
            Int(UInt(bitPattern: hint) & UInt(capacity - 1))
        }

        /// Copies the steps of the path remembered under `hint` into `target`
        /// when `prefix` starts with its head and goes on past it.
        /// - Returns: the number of steps copied and the length of the head
        ///   in bytes, or nil when no remembered path applies.
        func resume(
            hint: Int, prefix: UnsafeBufferPointer<UInt8>, into target: UnsafeMutableBufferPointer<Step>
        ) -> (depth: Int, length: Int)? {
            guard rememberedCount > 0 else { return nil }
            let slot = Self.slot(hint)
            let length = lengths[slot]
            guard length > 0, length < prefix.count,
                memcmp(headBytes + slot * Self.maximumLength, prefix.baseAddress!, length) == 0
            else { return nil }
            let depth = depths[slot]
            target.baseAddress!.update(from: steps + slot * Self.maximumDepth, count: depth)
            return (depth, length)
        }

        /// Remembers the path of `head` (bytes that end just after a
        /// separator) under `hint`, replacing what the slot contained. `path`
        /// contains one step per complete segment of `head`, and is not empty.
        /// A head longer than ``maximumLength`` or deeper than
        /// ``maximumDepth`` is not remembered.
        func remember(hint: Int, head: UnsafeBufferPointer<UInt8>, path: UnsafeBufferPointer<Step>) {
            guard head.count <= Self.maximumLength, path.count <= Self.maximumDepth else { return }
            let slot = Self.slot(hint)
            release(slot)
            (headBytes + slot * Self.maximumLength).update(from: head.baseAddress!, count: head.count)
            (steps + slot * Self.maximumDepth).update(from: path.baseAddress!, count: path.count)
            let pathNodes = path.map { $0.child.takeUnretainedValue() }
            for node in pathNodes { node.rememberedBy += 1 }
            nodes[slot] = pathNodes
            lengths[slot] = head.count
            depths[slot] = path.count
            rememberedCount += 1
        }

        /// Forgets every path, before a node on one of them leaves the trie.
        func forgetAll() {
            for slot in 0..<Self.capacity { release(slot) }
        }

        private func release(_ slot: Int) {
            guard lengths[slot] > 0 else { return }
            for node in nodes[slot] { node.rememberedBy -= 1 }
            nodes[slot] = []
            lengths[slot] = 0
            depths[slot] = 0
            rememberedCount -= 1
        }
    }
}
