/// Serializes ``JSONValue`` as compact JSON text.
///
/// Members keep their order. Strings are escaped as RFC 8259 requires and
/// otherwise written as UTF-8. Integers are written as integers and floats with
/// Swift's shortest round-trip form, so `1.0` stays `1.0`.
public enum JSONWriter {
    /// Returns the JSON text for `value`.
    public static func string(_ value: JSONValue, sortKeys: Bool = false) -> String {
        var output: [UInt8] = []
        output.reserveCapacity(128)
        write(value, into: &output, sortKeys: sortKeys)
        return String(decoding: output, as: UTF8.self)
    }

    /// Returns the JSON text for `value` as UTF-8 bytes.
    public static func bytes(_ value: JSONValue, sortKeys: Bool = false) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(128)
        write(value, into: &output, sortKeys: sortKeys)
        return output
    }

    /// Appends the JSON text for `value` to `output`.
    public static func write(_ value: JSONValue, into output: inout [UInt8], sortKeys: Bool = false) {
        switch value {
        case .null: writeRaw("null", into: &output)
        case .bool(let flag): writeRaw(flag ? "true" : "false", into: &output)
        case .int(let number): DecimalText.append(number, to: &output)
        case .double(let number): writeDouble(number, into: &output)
        case .string(let text): writeString(text, into: &output)
        case .array(let items):
            output.append(UInt8(ascii: "["))
            for (index, item) in items.enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                write(item, into: &output, sortKeys: sortKeys)
            }
            output.append(UInt8(ascii: "]"))
        case .object(let object):
            output.append(UInt8(ascii: "{"))
            let members = sortKeys ? object.sortedByKey().members : object.members
            for (index, member) in members.enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                writeString(member.key, into: &output)
                output.append(UInt8(ascii: ":"))
                write(member.value, into: &output, sortKeys: sortKeys)
            }
            output.append(UInt8(ascii: "}"))
        }
    }

    /// Appends `text` as it is: JSON punctuation or member names that the
    /// caller writes around values, copied in one go.
    public static func writeRaw(_ text: StaticString, into output: inout [UInt8]) {
        output.append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    /// Appends `text` as a quoted JSON string.
    public static func writeString(_ text: String, into output: inout [UInt8]) {
        output.append(UInt8(ascii: "\""))
        var copy = text
        // Most strings need no escape; copy those in one go.
        let copied = copy.withUTF8 { bytes -> Bool in
            for byte in bytes where byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
                return false
            }
            output.append(contentsOf: bytes)
            return true
        }
        if copied {
            output.append(UInt8(ascii: "\""))
            return
        }
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): output.append(contentsOf: [0x5C, 0x22])
            case UInt8(ascii: "\\"): output.append(contentsOf: [0x5C, 0x5C])
            case 0x0A: output.append(contentsOf: [0x5C, UInt8(ascii: "n")])
            case 0x0D: output.append(contentsOf: [0x5C, UInt8(ascii: "r")])
            case 0x09: output.append(contentsOf: [0x5C, UInt8(ascii: "t")])
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                output.append(contentsOf: [0x5C, UInt8(ascii: "u"), 0x30, 0x30, hex[Int(byte >> 4)], hex[Int(byte & 15)]])
            default: output.append(byte)
            }
        }
        output.append(UInt8(ascii: "\""))
    }

    private static func writeDouble(_ number: Double, into output: inout [UInt8]) {
        // JSON has no NaN or infinity; parsed input never holds them, and a
        // computed one is written as null rather than as invalid JSON.
        guard number.isFinite else {
            output.append(contentsOf: "null".utf8)
            return
        }
        output.append(contentsOf: number.description.utf8)
    }
}

extension JSONValue: CustomStringConvertible {
    /// The compact JSON text of the value.
    public var description: String { JSONWriter.string(self) }
}
