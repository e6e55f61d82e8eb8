import Testing

@testable import Brokers

/// ``RedisCommand`` kept as arguments or as RESP bytes.
@Suite struct RedisCommandTests {
    static let twelveArguments = [Array("HSET".utf8), Array("key".utf8)] + (0..<10).map { Array("f\($0)".utf8) }

    @Test func encodesArgumentsAsRESP() {
        var bytes: [UInt8] = []
        RedisCommand("SET", "key", [0x00, 0xFF]).appendEncoded(to: &bytes)

        #expect(bytes == Array("*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$2\r\n".utf8) + [0x00, 0xFF, 0x0D, 0x0A])
    }

    @Test func encodedCommandReadsBackItsArguments() {
        var bytes: [UInt8] = []
        let original = RedisCommand(arguments: Self.twelveArguments)
        original.appendEncoded(to: &bytes)
        #expect(bytes.starts(with: Array("*12\r\n".utf8)))

        let encoded = RedisCommand(encoded: bytes)

        #expect(encoded.arguments == Self.twelveArguments)
        #expect(encoded == original)
        #expect(encoded.name == "HSET")
        #expect(encoded.description == "HSET key f0 f1 f2 f3 f4 f5 f6 f7 f8 f9")
        var again: [UInt8] = []
        encoded.appendEncoded(to: &again)
        #expect(again == bytes)
    }

    @Test func bulkStringLengthsOfManyDigits() {
        var bytes: [UInt8] = []
        RESPEncoding.appendBulkString([UInt8](repeating: 0x61, count: 1234), to: &bytes)

        #expect(bytes.prefix(7) == Array("$1234\r\n".utf8)[...])
        #expect(bytes.count == 7 + 1234 + 2)
    }
}
