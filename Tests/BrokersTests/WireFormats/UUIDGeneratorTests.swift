import Foundation
import Testing

@testable import Brokers

@Suite struct UUIDGeneratorTests {
    @Test func stringIsAVersion4UUID() throws {
        let text = UUIDGenerator().string()
        let parsed = try #require(UUID(uuidString: text))
        #expect(parsed.uuidString.lowercased() == text)
        let bytes = withUnsafeBytes(of: parsed.uuid) { Array($0) }
        #expect(bytes[6] >> 4 == 4)
        #expect(bytes[8] & 0xC0 == 0x80)
    }

    @Test func hexHasNoDashes() {
        let text = UUIDGenerator().hex()
        #expect(text.count == 32)
        #expect(text.allSatisfy { $0.isHexDigit })
        #expect(text == text.lowercased())
    }

    @Test func idsDoNotRepeat() {
        let generator = UUIDGenerator()
        // 20,000 ids draw five times more bytes than one refill of the pool holds.
        let ids = (0..<20_000).map { _ in generator.string() }
        #expect(Set(ids).count == ids.count)
    }
}
