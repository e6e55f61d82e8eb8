/// A tracked batch, shared by reference so that moving it between the live
/// table and the ring of recent batches copies a pointer, not the record.
final class LiveRecord {
    var batch: LiveBatch

    init(_ batch: LiveBatch) {
        self.batch = batch
    }
}

/// The live batches by id.
///
/// Batch ids grow by one per dispatch and most batches end soon after they
/// start, so a live batch usually sits in the slot its id's low bits pick
/// and finding it needs no hashing. An id whose slot is taken by an older
/// batch that is still live goes to an overflow dictionary instead.
struct LiveBatchTable {
    /// A power of two; the slot of id `n` is `n % slotCount`.
    static let slotCount = 1024

    private var slots: [LiveRecord?]
    private var overflow: [UInt64: LiveRecord] = [:]
    private(set) var count = 0

    init() {
        slots = [LiveRecord?](repeating: nil, count: Self.slotCount)
    }

    private static func slot(of id: UInt64) -> Int {
        Int(truncatingIfNeeded: id & UInt64(slotCount - 1))
    }

    func contains(_ id: UInt64) -> Bool {
        if slots[Self.slot(of: id)]?.batch.id == id { return true }
        return !overflow.isEmpty && overflow[id] != nil
    }

    /// Adds a record whose id is not live yet.
    mutating func insert(_ record: LiveRecord) {
        let id = record.batch.id
        let slot = Self.slot(of: id)
        if slots[slot] == nil {
            slots[slot] = record
        } else {
            overflow[id] = record
        }
        count += 1
    }

    /// Removes and returns the record with this id, if it is live.
    mutating func remove(_ id: UInt64) -> LiveRecord? {
        let slot = Self.slot(of: id)
        if slots[slot]?.batch.id == id {
            let record = slots[slot]
            slots[slot] = nil
            count -= 1
            return record
        }
        guard !overflow.isEmpty, let record = overflow.removeValue(forKey: id) else { return nil }
        count -= 1
        return record
    }

    /// The record with this id, if it is live.
    subscript(id: UInt64) -> LiveRecord? {
        let slot = Self.slot(of: id)
        if let record = slots[slot], record.batch.id == id { return record }
        return overflow.isEmpty ? nil : overflow[id]
    }

    /// Every live record, in no particular order.
    var values: [LiveBatch] {
        var result: [LiveBatch] = []
        result.reserveCapacity(count)
        for case let record? in slots { result.append(record.batch) }
        for record in overflow.values { result.append(record.batch) }
        return result
    }
}
