import Foundation

/// One `::`-separated piece of a cache key, as the memory store's trie
/// compares it: its UTF-8 bytes, in Unicode canonical composition (NFC)
/// when it is not ASCII. Two spellings that Swift's `String` equality calls
/// equal ("é" and "e" + U+0301, "K" and the Kelvin sign) so find the same
/// node, as they did when the trie was keyed by `String`.
struct SegmentKey {
    /// The hash of `bytes` under the store's seed.
    var hash: UInt64

    /// Calls `body` with the comparison bytes of `raw` and their hash.
    static func with<Result>(
        _ raw: UnsafeBufferPointer<UInt8>, seed: UInt64, _ body: (UnsafeBufferPointer<UInt8>, UInt64) -> Result
    ) -> Result {
        let (rawHash, isASCII) = hashNotingASCII(raw, seed: seed)
        if isASCII {
            return body(raw, rawHash)
        }
        var composed = Array(String(decoding: raw, as: UTF8.self).precomposedStringWithCanonicalMapping.utf8)
        return composed.withUnsafeMutableBufferPointer { buffer in
            let bytes = UnsafeBufferPointer(buffer)
            return body(bytes, hash(bytes, seed: seed))
        }
    }

    /// A seeded 64-bit hash of `bytes`, eight bytes a step.
    ///
    /// NOTE: this is a fast multiply-and-shift mix, not a keyed hash like
    /// Swift's SipHash. The per-store random seed keeps collisions from being
    /// computed offline. A client that can time many drops could still
    /// search for colliding keys, and each collision costs one more probe.
    static func hash(_ bytes: UnsafeBufferPointer<UInt8>, seed: UInt64) -> UInt64 {
        hashNotingASCII(bytes, seed: seed).hash
    }

    /// Returns ``hash(_:seed:)`` and whether every byte is ASCII, computed in one pass.
    @inline(__always)
    static func hashNotingASCII(_ bytes: UnsafeBufferPointer<UInt8>, seed: UInt64) -> (hash: UInt64, isASCII: Bool) {
        var highBits: UInt64 = 0
        var state = seed ^ (UInt64(bytes.count) &* 0x9E37_79B9_7F4A_7C15)
        let raw = UnsafeRawBufferPointer(bytes)
        var offset = 0
        while offset + 8 <= raw.count {
            let word = raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
            highBits |= word
            state = mix(state ^ word)
            offset += 8
        }
        if offset < raw.count {
            var tail: UInt64 = 0
            var shift: UInt64 = 0
            while offset < raw.count {
                tail |= UInt64(raw[offset]) << shift
                shift += 8
                offset += 1
            }
            highBits |= tail
            state = mix(state ^ tail)
        }
        return (mix(state), highBits & 0x8080_8080_8080_8080 == 0)
    }

    private static func mix(_ value: UInt64) -> UInt64 {
        var mixed = value &* 0xD6E8_FEB8_6659_FD93
        mixed ^= mixed >> 32
        mixed &*= 0xD6E8_FEB8_6659_FD93
        mixed ^= mixed >> 29
        return mixed
    }
}

/// The children of a trie node by segment: open addressing with linear
/// probing, no tombstones (removal shifts later entries back).
///
/// A leaf has no storage at all, and a node with one child keeps it in
/// `single`, so a partition holding one key costs no array. The slot array
/// is allocated on the second insert and kept from then on.
struct SegmentTable<Node: AnyObject> {
    struct Entry {
        var hash: UInt64
        /// The comparison form of the segment (see ``SegmentKey``).
        var segment: String
        var node: Node
    }

    private var slots: [Entry?] = []
    /// The only entry while `slots` is empty, and nil once `slots` is allocated.
    private var single: Entry?
    private(set) var count = 0

    var isEmpty: Bool { count == 0 }

    private var mask: Int { slots.count - 1 }

    /// Returns the node stored for `bytes`, whose hash is `hash`.
    func find(_ bytes: UnsafeBufferPointer<UInt8>, hash: UInt64) -> Node? {
        findUnretained(bytes, hash: hash)?.takeUnretainedValue()
    }

    /// Returns the node stored for `bytes` without retaining it. The table
    /// still owns the node, so the caller must not use it after removing its entry.
    func findUnretained(_ bytes: UnsafeBufferPointer<UInt8>, hash: UInt64) -> Unmanaged<Node>? {
        guard count > 0 else { return nil }
        if slots.isEmpty {
            guard single.unsafelyUnwrapped.hash == hash, Self.equal(single.unsafelyUnwrapped.segment, bytes) else {
                return nil
            }
            return Unmanaged.passUnretained(single.unsafelyUnwrapped.node)
        }
        let mask = mask
        // Reads the probed entries in place: binding each one to a local
        // would retain and release its segment and node.
        return slots.withUnsafeBufferPointer { slots in
            var index = Int(truncatingIfNeeded: hash) & mask
            while let probed = slots[index]?.hash {
                if probed == hash && Self.equal(slots[index].unsafelyUnwrapped.segment, bytes) {
                    return Unmanaged.passUnretained(slots[index].unsafelyUnwrapped.node)
                }
                index = (index + 1) & mask
            }
            return nil
        }
    }

    /// Adds a node for a segment not in the table yet.
    mutating func insert(_ bytes: UnsafeBufferPointer<UInt8>, hash: UInt64, node: Node) {
        if slots.isEmpty {
            if count == 0 {
                single = Entry(hash: hash, segment: String(decoding: bytes, as: UTF8.self), node: node)
                count = 1
                return
            }
            // The second child: move the first into a slot array.
            slots = [Entry?](repeating: nil, count: 4)
            let first = single.unsafelyUnwrapped
            single = nil
            slots[Int(truncatingIfNeeded: first.hash) & mask] = first
        }
        if (count + 1) * 4 > slots.count * 3 {
            grow()
        }
        var index = Int(truncatingIfNeeded: hash) & mask
        while slots[index] != nil {
            index = (index + 1) & mask
        }
        slots[index] = Entry(hash: hash, segment: String(decoding: bytes, as: UTF8.self), node: node)
        count += 1
    }

    /// Removes the entry holding `node`, found by its segment's hash.
    mutating func remove(_ node: Node, hash: UInt64) {
        guard count > 0 else { return }
        if slots.isEmpty {
            if single.unsafelyUnwrapped.node === node {
                single = nil
                count = 0
            }
            return
        }
        var index = Int(truncatingIfNeeded: hash) & mask
        while let entry = slots[index] {
            if entry.node === node {
                removeSlot(index)
                return
            }
            index = (index + 1) & mask
        }
    }

    /// Removes every entry whose segment satisfies `predicate`; returns the removed nodes.
    mutating func removeAll(where predicate: (Entry) -> Bool) -> [Node] {
        let doomed = entries.filter(predicate)
        for entry in doomed {
            remove(entry.node, hash: entry.hash)
        }
        return doomed.map(\.node)
    }

    mutating func removeAll() {
        slots = []
        single = nil
        count = 0
    }

    /// Returns whether any node in the table satisfies `predicate`, reading
    /// the entries in place.
    func containsNode(where predicate: (Node) -> Bool) -> Bool {
        if slots.isEmpty { return single.map { predicate($0.node) } ?? false }
        return slots.withUnsafeBufferPointer { slots in
            slots.contains { entry in entry.map { predicate($0.node) } ?? false }
        }
    }

    /// Every entry, in no particular order.
    var entries: [Entry] {
        if slots.isEmpty { return single.map { [$0] } ?? [] }
        return slots.compactMap { $0 }
    }

    private mutating func removeSlot(_ removed: Int) {
        slots[removed] = nil
        count -= 1
        // Shift back each later entry of the same run that the hole would
        // otherwise hide from a probe starting at its home slot.
        var hole = removed
        var index = (removed + 1) & mask
        while let entry = slots[index] {
            let home = Int(truncatingIfNeeded: entry.hash) & mask
            let homeBeforeHole = hole <= index ? (home <= hole || home > index) : (home <= hole && home > index)
            if homeBeforeHole {
                slots[hole] = entry
                slots[index] = nil
                hole = index
            }
            index = (index + 1) & mask
        }
    }

    private mutating func grow() {
        let old = slots
        slots = [Entry?](repeating: nil, count: max(2, old.count * 2))
        for case let entry? in old {
            var index = Int(truncatingIfNeeded: entry.hash) & mask
            while slots[index] != nil {
                index = (index + 1) & mask
            }
            slots[index] = entry
        }
    }

    private static func equal(_ segment: String, _ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        let utf8 = segment.utf8
        guard utf8.count == bytes.count else { return false }
        return utf8.withContiguousStorageIfAvailable { stored in
            stored.count == 0 || memcmp(stored.baseAddress!, bytes.baseAddress!, bytes.count) == 0
        } ?? utf8.elementsEqual(bytes)
    }
}
