import Foundation

/// Base64 in the two alphabets the wire formats use (RFC 4648 sections 4 and 5).
public enum Base64Text {
    /// Standard alphabet with `=` padding, as Celery bodies and RQ's `exc_string` use.
    public static func encode(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString()
    }

    /// URL-safe alphabet (`-` and `_`) with the padding stripped, as Django's signer writes.
    public static func encodeURLSafe(_ bytes: [UInt8]) -> String {
        var encoded = Array(Data(bytes).base64EncodedData())
        while encoded.last == UInt8(ascii: "=") { encoded.removeLast() }
        for index in encoded.indices {
            if encoded[index] == UInt8(ascii: "+") {
                encoded[index] = UInt8(ascii: "-")
            } else if encoded[index] == UInt8(ascii: "/") {
                encoded[index] = UInt8(ascii: "_")
            }
        }
        return String(decoding: encoded, as: UTF8.self)
    }

    /// Decodes either alphabet, with or without padding; nil for text that is not base64.
    public static func decode(_ text: some StringProtocol) -> [UInt8]? {
        var standard = Array(text.utf8)
        for index in standard.indices {
            if standard[index] == UInt8(ascii: "-") {
                standard[index] = UInt8(ascii: "+")
            } else if standard[index] == UInt8(ascii: "_") {
                standard[index] = UInt8(ascii: "/")
            }
        }
        standard += Array(repeating: UInt8(ascii: "="), count: (4 - standard.count % 4) % 4)
        return Data(base64Encoded: Data(standard)).map { Array($0) }
    }
}
