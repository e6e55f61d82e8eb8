/// Rule indices per model label, looked up once per event.
///
/// An ASCII label is found by its bytes in an open-addressing table with a
/// multiply-and-shift hash, which costs less than hashing the `String` for a
/// dictionary. Other labels go to a dictionary, so canonically equal
/// spellings ("é" and "e" + U+0301) still find the same rules.
struct ModelRuleIndex: Sendable {
    private struct Entry: Sendable {
        var label: [UInt8]
        var hash: UInt64
        var indices: [Int]
    }

    /// Positions in `entries`, or -1 for an empty slot. At most half the slots are used.
    private let slots: [Int]
    private let entries: [Entry]
    private let byLabel: [String: [Int]]

    init(_ byLabel: [String: [Int]]) {
        self.byLabel = byLabel
        var entries: [Entry] = []
        for (label, indices) in byLabel where label.utf8.allSatisfy({ $0 < 0x80 }) {
            let bytes = Array(label.utf8)
            let hash = bytes.withUnsafeBufferPointer { SegmentKey.hash($0, seed: 0) }
            entries.append(Entry(label: bytes, hash: hash, indices: indices))
        }
        var capacity = 4
        while capacity < entries.count * 2 { capacity *= 2 }
        var slots = [Int](repeating: -1, count: capacity)
        for (position, entry) in entries.enumerated() {
            var slot = Int(truncatingIfNeeded: entry.hash) & (capacity - 1)
            while slots[slot] != -1 { slot = (slot + 1) & (capacity - 1) }
            slots[slot] = position
        }
        self.slots = slots
        self.entries = entries
    }

    /// Returns the indices of the rules on `model`, in registration order.
    func indices(for model: String) -> [Int]? {
        switch model.utf8.withContiguousStorageIfAvailable({ find($0) }) ?? .notASCII {
        case .found(let indices): return indices
        case .absent: return nil
        case .notASCII: return byLabel[model]
        }
    }

    private enum Lookup {
        case found([Int])
        case absent
        case notASCII
    }

    private func find(_ bytes: UnsafeBufferPointer<UInt8>) -> Lookup {
        let (hash, isASCII) = SegmentKey.hashNotingASCII(bytes, seed: 0)
        guard isASCII else { return .notASCII }
        let mask = slots.count - 1
        var slot = Int(truncatingIfNeeded: hash) & mask
        while slots[slot] != -1 {
            let entry = entries[slots[slot]]
            if entry.hash == hash && entry.label.elementsEqual(bytes) {
                return .found(entry.indices)
            }
            slot = (slot + 1) & mask
        }
        return .absent
    }
}
