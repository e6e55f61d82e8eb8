import Testing

@testable import Engine

/// Checks of `EventResult`, which keeps a run of consecutive batch ids as
/// its first id and a count. Every way of filling it must read back the ids
/// in the order they were added.
@Suite struct EventResultTests {
    static func filled(_ ids: [UInt64]) -> EventResult {
        var result = EventResult()
        for id in ids { result.appendBatchID(id) }
        return result
    }

    @Test(arguments: [
        [UInt64](), [7], [7, 8, 9], [7, 9], [7, 8, 10, 11], [9, 8], [3, 3], [UInt64.max - 1, UInt64.max],
        [UInt64.max, 0, 1], [0, 1, 2],
    ])
    func idsReadBackInOrder(ids: [UInt64]) {
        #expect(Self.filled(ids).batchIDs == ids)
    }

    @Test func setThenAppendedIDsKeepOrder() {
        var result = EventResult()
        result.batchIDs = [4, 5]
        result.appendBatchID(6)
        result.appendBatchID(2)
        #expect(result.batchIDs == [4, 5, 6, 2])
        result.batchIDs = []
        #expect(result.batchIDs.isEmpty)
        result.appendBatchID(11)
        result.appendBatchID(12)
        #expect(result.batchIDs == [11, 12])
    }
}
