import Foundation
import Testing

@testable import Brokers

@Suite struct Base64TextTests {
    /// Bytes 0, 1, 2, ... of `count`, with every residue of `count % 3`.
    static func bytes(_ count: Int) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: $0 * 37 + 11) }
    }

    @Test(arguments: [0, 1, 2, 3, 4, 5, 6, 62, 63, 64, 65, 255, 256, 257])
    func standardMatchesFoundation(count: Int) {
        let input = Self.bytes(count)
        #expect(Base64Text.encode(input) == Data(input).base64EncodedString())
    }

    @Test(arguments: [0, 1, 2, 3, 4, 5, 6, 62, 63, 64, 65, 255, 256, 257])
    func urlSafeHasNoPaddingAndSwappedLetters(count: Int) {
        let input = Self.bytes(count)
        var expected = Data(input).base64EncodedString()
        while expected.hasSuffix("=") { expected.removeLast() }
        expected = expected.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        #expect(Base64Text.encodeURLSafe(input) == expected)
    }

    @Test func everyByteRoundTrips() {
        let input = (0...255).map { UInt8($0) }
        #expect(Base64Text.decode(Base64Text.encode(input)) == input)
        #expect(Base64Text.decode(Base64Text.encodeURLSafe(input)) == input)
    }
}
