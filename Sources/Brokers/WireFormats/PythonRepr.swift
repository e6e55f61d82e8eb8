import Engine

/// Python's `repr()` of JSON-shaped values, for the display strings that
/// Python producers store: Celery's `argsrepr`/`kwargsrepr` and RQ's
/// `description`.
public enum PythonRepr {
    /// Returns `repr(value)`, with JSON arrays as lists and objects as dicts.
    public static func string(_ value: JSONValue) -> String {
        var output = ""
        write(value, into: &output)
        return output
    }

    /// Returns the repr of `items` as a tuple: `()`, `(1,)`, `(1, 2)`.
    public static func tuple(_ items: [JSONValue]) -> String {
        if items.count == 1 { return "(\(string(items[0])),)" }
        return "(" + items.map(string).joined(separator: ", ") + ")"
    }

    /// Returns a call as RQ describes a job: `f(arg, ..., key=value, ...)`.
    public static func call(_ function: String, args: [JSONValue], kwargs: JSONObject) -> String {
        let parts = args.map(string) + kwargs.members.map { "\($0.key)=\(string($0.value))" }
        return "\(function)(\(parts.joined(separator: ", ")))"
    }

    private static func write(_ value: JSONValue, into output: inout String) {
        switch value {
        case .null: output += "None"
        case .bool(let flag): output += flag ? "True" : "False"
        case .int(let number): output += String(number)
        case .double(let number): output += RestflowKeyText.pythonFloat(number)
        case .string(let text): writeString(text, into: &output)
        case .array(let items):
            output += "["
            for (index, item) in items.enumerated() {
                if index > 0 { output += ", " }
                write(item, into: &output)
            }
            output += "]"
        case .object(let object):
            output += "{"
            for (index, member) in object.members.enumerated() {
                if index > 0 { output += ", " }
                writeString(member.key, into: &output)
                output += ": "
                write(member.value, into: &output)
            }
            output += "}"
        }
    }

    /// Writes a str repr: single quotes unless the text contains a single quote
    /// and no double quote, and escapes for what `str.isprintable` rejects.
    private static func writeString(_ text: String, into output: inout String) {
        let utf8 = text.utf8
        let hasSingle = utf8.contains(UInt8(ascii: "'"))
        let hasDouble = utf8.contains(UInt8(ascii: "\""))
        let quote: Character = hasSingle && !hasDouble ? "\"" : "'"
        // Fast path: printable ASCII with nothing to escape is copied as is.
        if !hasSingle && utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "\\") }) {
            output.append("'")
            output.append(text)
            output.append("'")
            return
        }
        output.append(quote)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\\": output += "\\\\"
            case "\n": output += "\\n"
            case "\r": output += "\\r"
            case "\t": output += "\\t"
            default:
                if Character(scalar) == quote {
                    output += "\\" + String(quote)
                } else if isPrintable(scalar) {
                    output.unicodeScalars.append(scalar)
                } else {
                    output += escape(scalar)
                }
            }
        }
        output.append(quote)
    }

    /// Python's `str.isprintable` for one character: everything except the
    /// control, format, surrogate, private-use, unassigned and separator
    /// categories, where the ASCII space is the one printable separator.
    private static func isPrintable(_ scalar: Unicode.Scalar) -> Bool {
        if scalar == " " { return true }
        switch scalar.properties.generalCategory {
        case .control, .format, .surrogate, .privateUse, .unassigned, .lineSeparator, .paragraphSeparator,
            .spaceSeparator:
            return false
        default:
            return true
        }
    }

    private static func escape(_ scalar: Unicode.Scalar) -> String {
        let hex = String(scalar.value, radix: 16)
        if scalar.value <= 0xFF { return "\\x" + String(repeating: "0", count: 2 - hex.count) + hex }
        if scalar.value <= 0xFFFF { return "\\u" + String(repeating: "0", count: 4 - hex.count) + hex }
        return "\\U" + String(repeating: "0", count: 8 - hex.count) + hex
    }
}
