import Testing

@testable import Engine

@Suite struct UTCTimeTests {
    @Test func microTextOfKnownInstant() {
        // 2026-12-04 15:29:30.514714 UTC.
        #expect(UTCTime.iso8601Micro(microsecondsSinceEpoch: 1_796_398_170_514_714) == "2026-12-04T15:29:30.514714Z")
    }

    @Test func microBytesMatchMicroText() {
        let instants: [Int64] = [
            0, 1, 999_999, 1_000_000, -1, -1_000_001, 951_782_400_000_000, 1_796_398_170_514_714,
            253_402_300_799_999_999, 253_402_300_800_000_000, -62_135_596_800_000_000, -62_135_596_800_000_001,
        ]
        for micros in instants {
            let bytes = UTCTime.iso8601MicroBytes(microsecondsSinceEpoch: micros)
            #expect(String(decoding: bytes, as: UTF8.self) == UTCTime.iso8601Micro(microsecondsSinceEpoch: micros))
        }
    }
}
