/// A JSON syntax error with the line and column where reading stopped.
public struct JSONSyntaxError: Error, Sendable, Equatable, CustomStringConvertible {
    /// 1-based line of the offending byte.
    public var line: Int
    /// 1-based column, counted in bytes.
    public var column: Int
    public var reason: String

    public var description: String {
        "line \(line), column \(column): \(reason)"
    }
}

/// A strict JSON (RFC 8259) parser over UTF-8 bytes.
///
/// Foundation's `JSONSerialization` cannot tell `1` from `1.0` or `true` from
/// `1`, loses member order, and reports no usable position. This parser keeps
/// all three, and when `recordLocations` is set it also returns the line of
/// every value by its path (`functions[2].rules[0].watch_fields`), so a
/// configuration error can point at the line to fix.
public struct JSONParser {
    /// Maximum nesting of lists and objects; deeper input is rejected rather
    /// than allowed to exhaust the stack.
    public static let maximumDepth = 256

    // The input, the read position, the nesting depth and the grammar steps
    // below are internal. The event line reader builds on them, so it reads
    // exactly the syntax this parser reads.
    let bytes: UnsafeBufferPointer<UInt8>
    var position = 0
    var depth = 0
    private var countedOffset = 0
    private var countedLines = 1
    private let recordLocations: Bool
    /// The line of each value by path; nil unless `recordLocations` is set,
    /// so that a parser that records none has no dictionary to create.
    private(set) var locations: [String: Int]?

    init(bytes: UnsafeBufferPointer<UInt8>, recordLocations: Bool) {
        self.bytes = bytes
        self.recordLocations = recordLocations
        if recordLocations { locations = [:] }
    }

    /// Parses one complete JSON document.
    public static func parse(_ text: String) throws(JSONSyntaxError) -> JSONValue {
        var copy = text
        return try copy.withUTF8 { buffer in
            Result { () throws(JSONSyntaxError) -> JSONValue in try parse(buffer) }
        }.get()
    }

    /// Parses one complete JSON document from UTF-8 bytes.
    public static func parse(_ buffer: UnsafeBufferPointer<UInt8>) throws(JSONSyntaxError) -> JSONValue {
        var parser = JSONParser(bytes: buffer, recordLocations: false)
        return try parser.parseDocument(path: "")
    }

    /// Parses a document and returns the 1-based line of each value by path.
    public static func parseWithLocations(_ text: String) throws(JSONSyntaxError) -> (JSONValue, [String: Int]) {
        var copy = text
        return try copy.withUTF8 { buffer in
            Result { () throws(JSONSyntaxError) -> (JSONValue, [String: Int]) in
                var parser = JSONParser(bytes: buffer, recordLocations: true)
                let value = try parser.parseDocument(path: "")
                return (value, parser.locations ?? [:])
            }
        }.get()
    }

    // MARK: - Grammar

    private mutating func parseDocument(path: String) throws(JSONSyntaxError) -> JSONValue {
        skipWhitespace()
        if position == bytes.count {
            throw error("the input is empty, expected a JSON value")
        }
        let value = try parseValue(path: path)
        skipWhitespace()
        if position != bytes.count {
            throw error("unexpected \(describeCurrent()) after the end of the JSON value")
        }
        return value
    }

    mutating func parseValue(path: String) throws(JSONSyntaxError) -> JSONValue {
        if recordLocations {
            let line = lineNumber(at: position)
            locations?[path] = line
        }
        guard position < bytes.count else {
            throw error("the input ended where a value was expected")
        }
        switch bytes[position] {
        case UInt8(ascii: "{"): return try parseObject(path: path)
        case UInt8(ascii: "["): return try parseArray(path: path)
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try expectLiteral("true"); return .bool(true)
        case UInt8(ascii: "f"): try expectLiteral("false"); return .bool(false)
        case UInt8(ascii: "n"): try expectLiteral("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        default: throw error("unexpected \(describeCurrent()), expected a value")
        }
    }

    private mutating func parseObject(path: String) throws(JSONSyntaxError) -> JSONValue {
        try enterContainer()
        position += 1
        var object = JSONObject()
        skipWhitespace()
        if peek() == UInt8(ascii: "}") {
            position += 1
            depth -= 1
            return .object(object)
        }
        while true {
            skipWhitespace()
            guard peek() == UInt8(ascii: "\"") else {
                throw error("unexpected \(describeCurrent()), expected a member name in double quotes")
            }
            let key = try parseString()
            skipWhitespace()
            guard peek() == UInt8(ascii: ":") else {
                throw error("unexpected \(describeCurrent()), expected ':' after the member name")
            }
            position += 1
            skipWhitespace()
            let childPath = recordLocations ? (path.isEmpty ? key : path + "." + key) : ""
            // RFC 8259 leaves a repeated name undefined, and Python's json module
            // quietly keeps the last value; a key given twice almost always
            // hides a mistake, so it is rejected.
            if object[key] != nil {
                throw error("the member \"\(key)\" appears twice in this object")
            }
            object.appendUnchecked(key, try parseValue(path: childPath))
            skipWhitespace()
            switch peek() {
            case UInt8(ascii: ","):
                position += 1
            case UInt8(ascii: "}"):
                position += 1
                depth -= 1
                return .object(object)
            default:
                throw error("unexpected \(describeCurrent()), expected ',' or '}'")
            }
        }
    }

    private mutating func parseArray(path: String) throws(JSONSyntaxError) -> JSONValue {
        try enterContainer()
        position += 1
        var items: [JSONValue] = []
        skipWhitespace()
        if peek() == UInt8(ascii: "]") {
            position += 1
            depth -= 1
            return .array(items)
        }
        while true {
            skipWhitespace()
            let childPath = recordLocations ? "\(path)[\(items.count)]" : ""
            items.append(try parseValue(path: childPath))
            skipWhitespace()
            switch peek() {
            case UInt8(ascii: ","):
                position += 1
            case UInt8(ascii: "]"):
                position += 1
                depth -= 1
                return .array(items)
            default:
                throw error("unexpected \(describeCurrent()), expected ',' or ']'")
            }
        }
    }

    mutating func enterContainer() throws(JSONSyntaxError) {
        depth += 1
        if depth > Self.maximumDepth {
            throw error("lists and objects are nested deeper than \(Self.maximumDepth) levels")
        }
    }

    mutating func parseString() throws(JSONSyntaxError) -> String {
        position += 1
        let start = position
        var ascii = true
        // Fast path: no escapes, so the bytes between the quotes are the string.
        while position < bytes.count {
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") {
                let raw = UnsafeBufferPointer(rebasing: bytes[start..<position])
                // Non-ASCII bytes are checked rather than repaired, so bad input is
                // rejected instead of silently becoming U+FFFD.
                guard let text = ascii ? String(decoding: raw, as: UTF8.self) : String(validating: raw, as: UTF8.self) else {
                    throw error("a string is not valid UTF-8")
                }
                position += 1
                return text
            }
            if byte == UInt8(ascii: "\\") { break }
            if byte < 0x20 { throw error("a control character must be escaped inside a string") }
            if byte >= 0x80 { ascii = false }
            position += 1
        }
        var scalars = Array(UnsafeBufferPointer(rebasing: bytes[start..<position]))
        while position < bytes.count {
            let byte = bytes[position]
            switch byte {
            case UInt8(ascii: "\""):
                position += 1
                guard let text = String(validating: scalars, as: UTF8.self) else {
                    throw error("a string is not valid UTF-8")
                }
                return text
            case UInt8(ascii: "\\"):
                try appendEscape(to: &scalars)
            case 0..<0x20:
                throw error("a control character must be escaped inside a string")
            default:
                scalars.append(byte)
                position += 1
            }
        }
        throw error("the input ended inside a string")
    }

    private mutating func appendEscape(to output: inout [UInt8]) throws(JSONSyntaxError) {
        position += 1
        guard position < bytes.count else { throw error("the input ended inside an escape sequence") }
        let byte = bytes[position]
        position += 1
        switch byte {
        case UInt8(ascii: "\""): output.append(0x22)
        case UInt8(ascii: "\\"): output.append(0x5C)
        case UInt8(ascii: "/"): output.append(0x2F)
        case UInt8(ascii: "b"): output.append(0x08)
        case UInt8(ascii: "f"): output.append(0x0C)
        case UInt8(ascii: "n"): output.append(0x0A)
        case UInt8(ascii: "r"): output.append(0x0D)
        case UInt8(ascii: "t"): output.append(0x09)
        case UInt8(ascii: "u"):
            var code = try parseHex4()
            if (0xD800...0xDBFF).contains(code) {
                guard position + 1 < bytes.count, bytes[position] == UInt8(ascii: "\\"),
                    bytes[position + 1] == UInt8(ascii: "u")
                else { throw error("a high surrogate \\u escape must be followed by a low surrogate") }
                position += 2
                let low = try parseHex4()
                guard (0xDC00...0xDFFF).contains(low) else { throw error("invalid low surrogate in \\u escape") }
                code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
            } else if (0xDC00...0xDFFF).contains(code) {
                throw error("a low surrogate \\u escape has no high surrogate before it")
            }
            guard let scalar = Unicode.Scalar(code) else { throw error("invalid \\u escape") }
            output.append(contentsOf: Array(String(Character(scalar)).utf8))
        default:
            position -= 1
            throw error("invalid escape '\\\(Character(Unicode.Scalar(byte)))' in a string")
        }
    }

    private mutating func parseHex4() throws(JSONSyntaxError) -> UInt32 {
        guard position + 4 <= bytes.count else { throw error("the input ended inside a \\u escape") }
        var code: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[position]
            let digit: UInt32
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
            default: throw error("a \\u escape needs four hexadecimal digits")
            }
            code = code << 4 | digit
            position += 1
        }
        return code
    }

    private mutating func parseNumber() throws(JSONSyntaxError) -> JSONValue {
        let start = position
        var isInteger = true
        if peek() == UInt8(ascii: "-") { position += 1 }
        guard let first = peek(), isDigit(first) else { throw error("a number needs a digit after '-'") }
        if first == UInt8(ascii: "0") {
            position += 1
            if let next = peek(), isDigit(next) { throw error("a number cannot have a leading zero") }
        } else {
            skipDigits()
        }
        if peek() == UInt8(ascii: ".") {
            isInteger = false
            position += 1
            guard let next = peek(), isDigit(next) else { throw error("a number needs a digit after '.'") }
            skipDigits()
        }
        if peek() == UInt8(ascii: "e") || peek() == UInt8(ascii: "E") {
            isInteger = false
            position += 1
            if peek() == UInt8(ascii: "+") || peek() == UInt8(ascii: "-") { position += 1 }
            guard let next = peek(), isDigit(next) else { throw error("a number needs a digit in its exponent") }
            skipDigits()
        }
        // Up to 18 digits always fit an Int64, so they are summed directly.
        let negative = bytes[start] == UInt8(ascii: "-")
        let digitCount = position - start - (negative ? 1 : 0)
        if isInteger && digitCount <= 18 {
            var magnitude: Int64 = 0
            for index in (negative ? start + 1 : start)..<position {
                magnitude = magnitude * 10 + Int64(bytes[index] - UInt8(ascii: "0"))
            }
            return .int(negative ? -magnitude : magnitude)
        }
        if !isInteger, let number = Self.exactDouble(UnsafeBufferPointer(rebasing: bytes[start..<position])) {
            return .double(number)
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
        if isInteger, let number = Int64(text) {
            return .int(number)
        }
        // NOTE: an integer beyond 64 bits becomes the nearest double, so an
        // event whose pk or mapped field is such a number builds a cache key
        // ("1e+26") that differs from the one restflow builds from Python's
        // exact int. Keeping the digits needs a JSON value case of its own.
        guard let number = Double(text), number.isFinite else {
            throw error("the number \(text) is out of range")
        }
        return .double(number)
    }

    /// Returns the value of a valid JSON number with a fraction or an
    /// exponent when one floating-point operation gives it exactly, or nil.
    ///
    /// When the digits, read as an integer, are at most 2^53 and the power of
    /// ten is at most 10^22 either way, both are exact doubles. A single
    /// multiplication or division then rounds correctly, so the result has
    /// the same bits as `Double(text)`, which rounds correctly too. This
    /// covers numbers such as prices, and spares building a string and
    /// calling `strtod` for each.
    private static func exactDouble(_ text: UnsafeBufferPointer<UInt8>) -> Double? {
        var index = 0
        let negative = text[0] == UInt8(ascii: "-")
        if negative { index += 1 }

        // The digits before and after the point, as one integer.
        var significand: UInt64 = 0
        var significantDigits = 0
        var exponent = 0
        var inFraction = false
        while index < text.count {
            let byte = text[index]
            if byte == UInt8(ascii: ".") {
                inFraction = true
            } else if byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") {
                if significand != 0 || byte != UInt8(ascii: "0") { significantDigits += 1 }
                // 19 digits always fit in a UInt64.
                guard significantDigits <= 19 else { return nil }
                significand = significand * 10 + UInt64(byte - UInt8(ascii: "0"))
                if inFraction { exponent -= 1 }
            } else {
                break
            }
            index += 1
        }

        if index < text.count {
            // An exponent: 'e' or 'E', an optional sign, digits.
            index += 1
            var exponentSign = 1
            if text[index] == UInt8(ascii: "+") || text[index] == UInt8(ascii: "-") {
                if text[index] == UInt8(ascii: "-") { exponentSign = -1 }
                index += 1
            }
            var written = 0
            while index < text.count {
                written = written * 10 + Int(text[index] - UInt8(ascii: "0"))
                guard written <= 1000 else { return nil }
                index += 1
            }
            exponent += exponentSign * written
        }

        guard significand <= 1 << 53, (-22...22).contains(exponent) else { return nil }
        var value = Double(significand)
        value = exponent < 0 ? value / exactPowersOfTen[-exponent] : value * exactPowersOfTen[exponent]
        return negative ? -value : value
    }

    /// 10^0 through 10^22, every one an exact double.
    private static let exactPowersOfTen: [Double] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18,
        1e19, 1e20, 1e21, 1e22,
    ]

    // MARK: - Bytes

    func peek() -> UInt8? {
        position < bytes.count ? bytes[position] : nil
    }

    private func isDigit(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }

    private mutating func skipDigits() {
        while let byte = peek(), isDigit(byte) { position += 1 }
    }

    mutating func skipWhitespace() {
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x09, 0x0A, 0x0D: position += 1
            default: return
            }
        }
    }

    private mutating func expectLiteral(_ literal: StaticString) throws(JSONSyntaxError) {
        let count = literal.utf8CodeUnitCount
        let matches =
            position + count <= bytes.count
            && (0..<count).allSatisfy { bytes[position + $0] == literal.utf8Start[$0] }
        guard matches else { throw error("unexpected \(describeCurrent()), expected a value") }
        position += count
    }

    private func describeCurrent() -> String {
        guard position < bytes.count else { return "end of input" }
        let byte = bytes[position]
        if byte >= 0x21 && byte < 0x7F {
            return "'\(Character(Unicode.Scalar(byte)))'"
        }
        return "byte 0x" + String(byte, radix: 16, uppercase: true)
    }

    /// Returns the line of `offset`, counting newlines from the last offset
    /// asked about; offsets only grow while parsing, so the total cost is linear.
    private mutating func lineNumber(at offset: Int) -> Int {
        while countedOffset < min(offset, bytes.count) {
            if bytes[countedOffset] == 0x0A { countedLines += 1 }
            countedOffset += 1
        }
        return countedLines
    }

    private func error(_ reason: String) -> JSONSyntaxError {
        var line = 1
        var lineStart = 0
        for index in 0..<min(position, bytes.count) where bytes[index] == 0x0A {
            line += 1
            lineStart = index + 1
        }
        return JSONSyntaxError(line: line, column: position - lineStart + 1, reason: reason)
    }
}
