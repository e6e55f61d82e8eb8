import Foundation

/// Base64 in the two alphabets the wire formats use (RFC 4648 sections 4 and 5).
public enum Base64Text {
    /// Standard alphabet with `=` padding, as Celery bodies and RQ's `exc_string` use.
    public static func encode(_ bytes: [UInt8]) -> String {
        encode(bytes, alphabet: standardAlphabet, padded: true)
    }

    /// URL-safe alphabet (`-` and `_`) with the padding stripped, as Django's signer writes.
    public static func encodeURLSafe(_ bytes: [UInt8]) -> String {
        encode(bytes, alphabet: urlSafeAlphabet, padded: false)
    }

    private static let standardAlphabet: StaticString = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    private static let urlSafeAlphabet: StaticString = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

    /// Encodes three bytes to four characters at a time, straight into the string's storage.
    private static func encode(_ bytes: [UInt8], alphabet: StaticString, padded: Bool) -> String {
        let fullGroups = bytes.count / 3
        let rest = bytes.count % 3
        let length = fullGroups * 4 + (rest == 0 ? 0 : padded ? 4 : rest + 1)
        guard length > 0 else { return "" }
        let table = alphabet.utf8Start
        return bytes.withUnsafeBufferPointer { source in
            String(unsafeUninitializedCapacity: length) { target in
                var input = 0
                var output = 0
                for _ in 0..<fullGroups {
                    let group = UInt32(source[input]) << 16 | UInt32(source[input + 1]) << 8 | UInt32(source[input + 2])
                    target[output] = table[Int(group >> 18)]
                    target[output + 1] = table[Int((group >> 12) & 0x3F)]
                    target[output + 2] = table[Int((group >> 6) & 0x3F)]
                    target[output + 3] = table[Int(group & 0x3F)]
                    input += 3
                    output += 4
                }
                if rest > 0 {
                    let second = rest == 2 ? UInt32(source[input + 1]) : 0
                    let group = UInt32(source[input]) << 16 | second << 8
                    target[output] = table[Int(group >> 18)]
                    target[output + 1] = table[Int((group >> 12) & 0x3F)]
                    output += 2
                    if rest == 2 {
                        target[output] = table[Int((group >> 6) & 0x3F)]
                        output += 1
                    }
                    while padded && output < length {
                        target[output] = UInt8(ascii: "=")
                        output += 1
                    }
                }
                return output
            }
        }
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
