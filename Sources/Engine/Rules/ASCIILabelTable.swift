import Foundation

/// Values keyed by ASCII labels (model labels, field names), looked up by
/// the label's bytes.
///
/// An open-addressing table with the cache store's multiply-and-shift hash
/// costs less per lookup than hashing a `String` for a dictionary. Labels
/// that are not ASCII are left out: `String` equality treats canonically
/// equal spellings as one label, which a byte comparison would not.
struct ASCIILabelTable<Value: Sendable>: Sendable {
    private struct Entry: Sendable {
        var label: [UInt8]
        var hash: UInt64
        var value: Value
    }

    /// The outcome of a lookup by bytes.
    enum Lookup {
        case found(Value)
        case absent
        /// The bytes are not ASCII, so the table cannot tell.
        case notASCII
    }

    /// Positions in `entries`, or -1 for an empty slot. At most half the slots are used.
    private let slots: [Int]
    private let entries: [Entry]

    /// Builds the table from the ASCII labels of `values` and skips the others.
    init<Values: Sequence>(_ values: Values) where Values.Element == (String, Value) {
        var entries: [Entry] = []
        for (label, value) in values where label.utf8.allSatisfy({ $0 < 0x80 }) {
            let bytes = Array(label.utf8)
            let hash = bytes.withUnsafeBufferPointer { SegmentKey.hash($0, seed: 0) }
            entries.append(Entry(label: bytes, hash: hash, value: value))
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

    /// Looks `label` up by its UTF-8 bytes.
    func lookup(_ label: String) -> Lookup {
        label.utf8.withContiguousStorageIfAvailable { lookup($0) } ?? .notASCII
    }

    /// Looks a label up by its UTF-8 bytes.
    func lookup(_ bytes: UnsafeBufferPointer<UInt8>) -> Lookup {
        let (hash, isASCII) = SegmentKey.hashNotingASCII(bytes, seed: 0)
        guard isASCII else { return .notASCII }
        let mask = slots.count - 1
        return slots.withUnsafeBufferPointer { slots in
            entries.withUnsafeBufferPointer { entries in
                var slot = Int(truncatingIfNeeded: hash) & mask
                while slots[slot] != -1 {
                    let position = slots[slot]
                    if entries[position].hash == hash && Self.equal(entries[position].label, bytes) {
                        return .found(entries[position].value)
                    }
                    slot = (slot + 1) & mask
                }
                return .absent
            }
        }
    }

    private static func equal(_ label: [UInt8], _ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard label.count == bytes.count else { return false }
        guard let base = bytes.baseAddress, !label.isEmpty else { return true }
        return label.withUnsafeBufferPointer { memcmp($0.baseAddress!, base, bytes.count) == 0 }
    }
}
