import Engine

/// JSON text as Python's `json.dumps` writes it, so that stored messages
/// match what the Python producers store byte for byte.
///
/// `json.dumps` escapes every character outside printable ASCII as `\uXXXX`
/// (`ensure_ascii=True`, its default) and separates items with `", "` and
/// keys with `": "` unless told otherwise. Floats use Python's `repr`.
public enum PythonJSON {
    /// The item and key separators of `json.dumps`.
    public enum Separators: Sendable {
        /// `", "` and `": "`, the default (kombu, Celery bodies, RQ's JSON serializer).
        case spaced
        /// `","` and `":"` (Dramatiq).
        case compact
    }

    public static func bytes(_ value: JSONValue, separators: Separators) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(256)
        write(value, into: &output, separators: separators)
        return output
    }

    public static func string(_ value: JSONValue, separators: Separators) -> String {
        String(decoding: bytes(value, separators: separators), as: UTF8.self)
    }

    static func write(_ value: JSONValue, into output: inout [UInt8], separators: Separators) {
        switch value {
        case .null: JSONWriter.writeRaw("null", into: &output)
        case .bool(let flag): JSONWriter.writeRaw(flag ? "true" : "false", into: &output)
        case .int: JSONWriter.write(value, into: &output)
        case .double(let number):
            // Python writes NaN and infinities as bare words, which most JSON
            // readers reject; JSON input never contains them.
            let text = number.isNaN ? "NaN" : number.isInfinite ? (number < 0 ? "-Infinity" : "Infinity")
                : RestflowKeyText.pythonFloat(number)
            output.append(contentsOf: text.utf8)
        case .string(let text): writeString(text, into: &output)
        case .array(let items):
            output.append(0x5B)
            for (index, item) in items.enumerated() {
                if index > 0 { writeItemSeparator(separators, into: &output) }
                write(item, into: &output, separators: separators)
            }
            output.append(0x5D)
        case .object(let object):
            output.append(0x7B)
            for (index, member) in object.members.enumerated() {
                if index > 0 { writeItemSeparator(separators, into: &output) }
                writeString(member.key, into: &output)
                JSONWriter.writeRaw(separators == .spaced ? ": " : ":", into: &output)
                write(member.value, into: &output, separators: separators)
            }
            output.append(0x7D)
        }
    }

    private static func writeItemSeparator(_ separators: Separators, into output: inout [UInt8]) {
        JSONWriter.writeRaw(separators == .spaced ? ", " : ",", into: &output)
    }

    static func writeString(_ text: String, into output: inout [UInt8]) {
        output.append(0x22)
        var copy = text
        // Printable ASCII other than the quote and the backslash is written
        // as it is, so most strings are copied in one go.
        let copied = copy.withUTF8 { bytes -> Bool in
            for byte in bytes where byte < 0x20 || byte > 0x7E || byte == 0x22 || byte == 0x5C {
                return false
            }
            output.append(contentsOf: bytes)
            return true
        }
        if copied {
            output.append(0x22)
            return
        }
        for unit in text.utf16 {
            switch unit {
            case 0x22: output += [0x5C, 0x22]
            case 0x5C: output += [0x5C, 0x5C]
            case 0x0A: output += [0x5C, 0x6E]
            case 0x0D: output += [0x5C, 0x72]
            case 0x09: output += [0x5C, 0x74]
            case 0x08: output += [0x5C, 0x62]
            case 0x0C: output += [0x5C, 0x66]
            case 0x20...0x7E: output.append(UInt8(unit))
            default:
                let hex = Array(String(unit, radix: 16).utf8)
                output += [0x5C, 0x75] + Array(repeating: 0x30, count: 4 - hex.count) + hex
            }
        }
        output.append(0x22)
    }
}
