import Engine

/// Python's `repr()` of JSON-shaped values, for the display strings that
/// Python producers store: Celery's `argsrepr`/`kwargsrepr` and RQ's
/// `description`.
public enum PythonRepr {
    /// Returns `repr(value)`, with JSON arrays as lists and objects as dicts.
    public static func string(_ value: JSONValue) -> String {
        var output: [UInt8] = []
        output.reserveCapacity(128)
        write(value, into: &output)
        return String(decoding: output, as: UTF8.self)
    }

    /// Returns the repr of `items` as a tuple: `()`, `(1,)`, `(1, 2)`.
    public static func tuple(_ items: [JSONValue]) -> String {
        var output: [UInt8] = [UInt8(ascii: "(")]
        for (index, item) in items.enumerated() {
            if index > 0 { output.append(contentsOf: ", ".utf8) }
            write(item, into: &output)
        }
        if items.count == 1 { output.append(UInt8(ascii: ",")) }
        output.append(UInt8(ascii: ")"))
        return String(decoding: output, as: UTF8.self)
    }

    /// Returns a call as RQ describes a job: `f(arg, ..., key=value, ...)`.
    public static func call(_ function: String, args: [JSONValue], kwargs: JSONObject) -> String {
        String(decoding: callBytes(function, args: args, kwargs: kwargs), as: UTF8.self)
    }

    /// Returns ``call(_:args:kwargs:)`` as UTF-8 bytes, without building a `String`.
    public static func callBytes(_ function: String, args: [JSONValue], kwargs: JSONObject) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(1024)
        output.append(contentsOf: function.utf8)
        output.append(UInt8(ascii: "("))
        var first = true
        for item in args {
            if !first { appendSeparator(to: &output) }
            first = false
            write(item, into: &output)
        }
        for member in kwargs.members {
            if !first { appendSeparator(to: &output) }
            first = false
            output.append(contentsOf: member.key.utf8)
            output.append(UInt8(ascii: "="))
            write(member.value, into: &output)
        }
        output.append(UInt8(ascii: ")"))
        return output
    }

    /// Appends ", " between items.
    @inline(__always)
    private static func appendSeparator(to output: inout [UInt8]) {
        output.append(UInt8(ascii: ","))
        output.append(UInt8(ascii: " "))
    }

    private static func write(_ value: JSONValue, into output: inout [UInt8]) {
        switch value {
        case .null: output.append(contentsOf: "None".utf8)
        case .bool(let flag): output.append(contentsOf: (flag ? "True" : "False").utf8)
        case .int: JSONWriter.write(value, into: &output)
        case .double(let number): output.append(contentsOf: RestflowKeyText.pythonFloat(number).utf8)
        case .string(let text): writeString(text, into: &output)
        case .array(let items):
            output.append(UInt8(ascii: "["))
            // Reading the elements in place, not copying them out, saves a
            // retain and release per element.
            items.withUnsafeBufferPointer { items in
                for index in items.indices {
                    if index > 0 { appendSeparator(to: &output) }
                    write(items[index], into: &output)
                }
            }
            output.append(UInt8(ascii: "]"))
        case .object(let object):
            output.append(UInt8(ascii: "{"))
            object.members.withUnsafeBufferPointer { members in
                for index in members.indices {
                    if index > 0 { appendSeparator(to: &output) }
                    writeString(members[index].key, into: &output)
                    output.append(UInt8(ascii: ":"))
                    output.append(UInt8(ascii: " "))
                    write(members[index].value, into: &output)
                }
            }
            output.append(UInt8(ascii: "}"))
        }
    }

    /// Writes a str repr: single quotes unless the text contains a single quote
    /// and no double quote, and escapes for what `str.isprintable` rejects.
    private static func writeString(_ text: String, into output: inout [UInt8]) {
        // Fast path: printable ASCII with no single quote or backslash is copied as is.
        let copied = text.utf8.withContiguousStorageIfAvailable { bytes -> Bool in
            for byte in bytes where byte < 0x20 || byte >= 0x7F || byte == UInt8(ascii: "\\") || byte == UInt8(ascii: "'") {
                return false
            }
            output.append(UInt8(ascii: "'"))
            output.append(contentsOf: bytes)
            output.append(UInt8(ascii: "'"))
            return true
        }
        if copied == true { return }
        let utf8 = text.utf8
        let hasSingle = utf8.contains(UInt8(ascii: "'"))
        let hasDouble = utf8.contains(UInt8(ascii: "\""))
        let quote: Character = hasSingle && !hasDouble ? "\"" : "'"
        var escaped = String(quote)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\\": escaped += "\\\\"
            case "\n": escaped += "\\n"
            case "\r": escaped += "\\r"
            case "\t": escaped += "\\t"
            default:
                if Character(scalar) == quote {
                    escaped += "\\" + String(quote)
                } else if isPrintable(scalar) {
                    escaped.unicodeScalars.append(scalar)
                } else {
                    escaped += escape(scalar)
                }
            }
        }
        escaped.append(quote)
        output.append(contentsOf: escaped.utf8)
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
