import Foundation
import Testing

/// Byte-for-byte comparison with files under `Tests/BrokersTests/Golden`.
///
/// Run with `DISPATCHTOP_UPDATE_GOLDEN=1` to write the actual bytes as the
/// new golden files; review the diff before committing them.
enum GoldenFile {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Golden")

    static func expectMatches(_ actual: [UInt8], _ name: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let url = folder.appendingPathComponent(name)
        if ProcessInfo.processInfo.environment["DISPATCHTOP_UPDATE_GOLDEN"] == "1" {
            try Data(actual).write(to: url)
        }
        let expected = try [UInt8](Data(contentsOf: url))
        #expect(
            actual == expected,
            "\(name) differs.\nexpected: \(String(decoding: expected, as: UTF8.self))\nactual:   \(String(decoding: actual, as: UTF8.self))",
            sourceLocation: sourceLocation)
    }
}
