import Testing

@testable import Engine

@Suite struct JSONParserTests {
    // MARK: - Numbers

    @Test(arguments: [
        ("0", JSONValue.int(0)),
        ("-0", .int(0)),
        ("42", .int(42)),
        ("-17", .int(-17)),
        ("9223372036854775807", .int(Int64.max)),
        ("-9223372036854775808", .int(Int64.min)),
        ("1.0", .double(1.0)),
        ("-0.0", .double(-0.0)),
        ("2.5", .double(2.5)),
        ("1e3", .double(1000)),
        ("1E-2", .double(0.01)),
        ("6.02e+23", .double(6.02e23)),
    ])
    func numberKeepsItsKind(text: String, expected: JSONValue) throws {
        let value = try JSONParser.parse(text)
        #expect(value == expected)
    }

    @Test func integerAndFloatStayApart() throws {
        let integer = try JSONParser.parse("1")
        let float = try JSONParser.parse("1.0")
        #expect(integer == .int(1))
        #expect(float == .double(1.0))
        #expect(integer != float)
    }

    @Test func integerBeyondInt64BecomesFloat() throws {
        let value = try JSONParser.parse("9223372036854775808")
        #expect(value == .double(9_223_372_036_854_775_808.0))
    }

    @Test(arguments: [
        ("01", "a number cannot have a leading zero"),
        ("-", "a number needs a digit after '-'"),
        ("-x", "a number needs a digit after '-'"),
        ("1.", "a number needs a digit after '.'"),
        ("1.e5", "a number needs a digit after '.'"),
        ("1e", "a number needs a digit in its exponent"),
        ("1e+", "a number needs a digit in its exponent"),
        ("1e400", "the number 1e400 is out of range"),
    ])
    func malformedNumberIsRejected(text: String, reason: String) {
        let error = #expect(throws: JSONSyntaxError.self) { try JSONParser.parse(text) }
        #expect(error?.reason == reason)
    }

    @Test(arguments: [
        "0.0", "-0.0", "0e5", "-0E-5", "1.99", "-2.25e3", "0.1", "0.30000000000000004", "1e-22", "1e22", "9007199254740992.0",
        "9007199254740993.0", "1e23", "1e-23", "4.9e-324", "1.7976931348623157e308", "123456789.123456789",
        "1234567890123456789.5", "0.000000000000000000000000000001", "1e0000000000000000000001", "2.2250738585072014e-308",
    ])
    func floatHasTheBitsOfDoubleParsing(text: String) throws {
        let value = try JSONParser.parse(text)
        #expect(value.doubleBits == Double(text)?.bitPattern)
    }

    /// Random decimals in the forms the parser reads: the result must have
    /// the same bits as Swift's own `Double(String)`, which rounds correctly.
    @Test func randomFloatsHaveTheBitsOfDoubleParsing() throws {
        var generator = SeededGenerator(seed: 53)
        for _ in 0..<100_000 {
            let digits = Int.random(in: 1...20, using: &generator)
            var text = Int.random(in: 0..<4, using: &generator) == 0 ? "-" : ""
            let pointAt = Int.random(in: 1...digits, using: &generator)
            for index in 0..<digits {
                if index == pointAt { text += "." }
                let digit = index == 0 && digits > 1 && pointAt > 1 ? Int.random(in: 1...9, using: &generator)
                    : Int.random(in: 0...9, using: &generator)
                text += String(digit)
            }
            if pointAt == digits || Bool.random(using: &generator) {
                text += ["e", "E"].randomElement(using: &generator)! + ["", "+", "-"].randomElement(using: &generator)!
                text += String(Int.random(in: 0...30, using: &generator))
            }
            let value = try JSONParser.parse(text)
            #expect(value.doubleBits == Double(text)?.bitPattern, "\(text)")
        }
    }

    // MARK: - Objects and lists

    @Test func objectKeepsMemberOrder() throws {
        let value = try JSONParser.parse(#"{"zeta": 1, "alpha": 2, "mid": 3}"#)
        #expect(value.objectValue?.keys == ["zeta", "alpha", "mid"])
    }

    @Test func repeatedMemberIsRejected() {
        let error = #expect(throws: JSONSyntaxError.self) { try JSONParser.parse(#"{"a": 1, "b": 2, "a": 3}"#) }
        #expect(error?.reason == #"the member "a" appears twice in this object"#)
        #expect(error?.line == 1)
        #expect(error?.column == 23)
    }

    @Test func nestedValuesParse() throws {
        let value = try JSONParser.parse(#" { "list" : [ 1 , true , null , "x" , { } , [ ] ] } "#)
        let expected: JSONValue = ["list": [1, true, nil, "x", .object(JSONObject()), []]]
        #expect(value == expected)
    }

    @Test(arguments: ["true", "false", "null"])
    func literalParses(text: String) throws {
        let value = try JSONParser.parse(text)
        #expect(JSONWriter.string(value) == text)
    }

    @Test(arguments: ["tru", "nul", "True", "NULL", "falsey"])
    func misspeltLiteralIsRejected(text: String) {
        #expect(throws: JSONSyntaxError.self) { try JSONParser.parse(text) }
    }

    // MARK: - Strings

    @Test(arguments: [
        (#""a\"b""#, "a\"b"),
        (#""back\\slash""#, "back\\slash"),
        (#""\/""#, "/"),
        (#""\b\f\n\r\t""#, "\u{08}\u{0C}\n\r\t"),
        (#""\u0041\u00e9\u4e2d""#, "Aé中"),
        (#""\u0000""#, "\u{0}"),
        (#""plain café 日本""#, "plain café 日本"),
    ])
    func escapeDecodes(text: String, expected: String) throws {
        #expect(try JSONParser.parse(text) == .string(expected))
    }

    @Test func surrogatePairDecodesToOneScalar() throws {
        let value = try JSONParser.parse(#""\ud83d\ude00""#)
        #expect(value == .string("😀"))
        #expect(value.stringValue?.unicodeScalars.count == 1)
    }

    @Test func uppercaseSurrogatePairDecodes() throws {
        #expect(try JSONParser.parse(#""\uD834\uDD1E""#) == .string("𝄞"))
    }

    @Test(arguments: [
        (#""\ud83d""#, "a high surrogate \\u escape must be followed by a low surrogate"),
        (#""\ud83dx""#, "a high surrogate \\u escape must be followed by a low surrogate"),
        (#""\ud83d\u0041""#, "invalid low surrogate in \\u escape"),
        (#""\ude00""#, "a low surrogate \\u escape has no high surrogate before it"),
        (#"["\u12", 1]"#, "a \\u escape needs four hexadecimal digits"),
        (#""\u12""#, "the input ended inside a \\u escape"),
        (#""\u12g4""#, "a \\u escape needs four hexadecimal digits"),
        (#""\x""#, "invalid escape '\\x' in a string"),
        ("\"tab\there\"", "a control character must be escaped inside a string"),
        ("\"new\nline\"", "a control character must be escaped inside a string"),
        (#""open"#, "the input ended inside a string"),
        (#""esc\"#, "the input ended inside an escape sequence"),
    ])
    func badStringIsRejected(text: String, reason: String) {
        let error = #expect(throws: JSONSyntaxError.self) { try JSONParser.parse(text) }
        #expect(error?.reason == reason)
    }

    // MARK: - Error positions

    @Test func errorReportsLineAndColumn() {
        let text = "{\n  \"a\": 1,\n  \"b\": tru\n}"
        let error = #expect(throws: JSONSyntaxError.self) { try JSONParser.parse(text) }
        #expect(error?.line == 3)
        #expect(error?.column == 8)
        #expect(error?.reason == "unexpected 't', expected a value")
    }

    @Test func missingCommaReportsPositionOfNextMember() {
        let text = "[1,\n 2\n 3]"
        let error = #expect(throws: JSONSyntaxError.self) { try JSONParser.parse(text) }
        #expect(error?.line == 3)
        #expect(error?.column == 2)
        #expect(error?.reason == "unexpected '3', expected ',' or ']'")
    }

    @Test func columnCountsBytes() {
        // "é" is two UTF-8 bytes, so the stray '}' is the fifth character but the sixth byte.
        let text = "[\"é\"}"
        let error = #expect(throws: JSONSyntaxError.self) { try JSONParser.parse(text) }
        #expect(error?.line == 1)
        #expect(error?.column == 6)
    }

    @Test func descriptionNamesLineAndColumn() {
        let error = #expect(throws: JSONSyntaxError.self) { try JSONParser.parse("[1,]") }
        #expect(error?.description == "line 1, column 4: unexpected ']', expected a value")
    }

    @Test(arguments: [
        ("", "the input is empty, expected a JSON value"),
        ("   \n ", "the input is empty, expected a JSON value"),
        ("[1] 2", "unexpected '2' after the end of the JSON value"),
        ("{\"a\" 1}", "unexpected '1', expected ':' after the member name"),
        ("{a: 1}", "unexpected 'a', expected a member name in double quotes"),
        ("{\"a\": 1,}", "unexpected '}', expected a member name in double quotes"),
        ("[1 2]", "unexpected '2', expected ',' or ']'"),
        ("{\"a\": 1 \"b\": 2}", "unexpected '\"', expected ',' or '}'"),
        ("[", "the input ended where a value was expected"),
        ("\u{1}", "unexpected byte 0x1, expected a value"),
    ])
    func structuralErrorIsRejected(text: String, reason: String) {
        let error = #expect(throws: JSONSyntaxError.self) { try JSONParser.parse(text) }
        #expect(error?.reason == reason)
    }

    // MARK: - Depth

    @Test func nestingAtTheLimitParses() throws {
        let depth = JSONParser.maximumDepth
        let text = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
        var value = try JSONParser.parse(text)
        var levels = 0
        while case .array(let items) = value {
            levels += 1
            value = items.first ?? .null
        }
        #expect(levels == depth)
    }

    @Test func nestingPastTheLimitIsRejected() {
        let depth = JSONParser.maximumDepth + 1
        let text = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
        let error = #expect(throws: JSONSyntaxError.self) { try JSONParser.parse(text) }
        #expect(error?.reason == "lists and objects are nested deeper than 256 levels")
        #expect(error?.column == depth)
    }

    @Test func deepObjectsAreLimitedToo() {
        let depth = JSONParser.maximumDepth + 1
        let text = String(repeating: "{\"a\":", count: depth) + "1" + String(repeating: "}", count: depth)
        #expect(throws: JSONSyntaxError.self) { try JSONParser.parse(text) }
    }

    // MARK: - Locations

    @Test func locationsGiveTheLineOfEveryValue() throws {
        let text = """
            {
              "functions": [
                {"name": "f",
                 "rules": [
                   {"model": "a.B",
                    "watch_fields": 3}
                 ]}
              ]
            }
            """
        let (_, locations) = try JSONParser.parseWithLocations(text)
        #expect(locations[""] == 1)
        #expect(locations["functions"] == 2)
        #expect(locations["functions[0]"] == 3)
        #expect(locations["functions[0].name"] == 3)
        #expect(locations["functions[0].rules"] == 4)
        #expect(locations["functions[0].rules[0]"] == 5)
        #expect(locations["functions[0].rules[0].watch_fields"] == 6)
    }
}

extension JSONParserTests {
    @Test func invalidUTF8InAStringIsRejected() {
        let bytes: [UInt8] = Array(#"{"name": "a"#.utf8) + [0xFF, 0xFE] + Array(#""}"#.utf8)
        let error = bytes.withUnsafeBufferPointer { buffer in
            Result { () throws(JSONSyntaxError) -> JSONValue in try JSONParser.parse(buffer) }
        }
        guard case .failure(let failure) = error else {
            Issue.record("invalid UTF-8 was accepted")
            return
        }
        #expect(failure.reason == "a string is not valid UTF-8")
    }

    @Test func invalidUTF8AfterAnEscapeIsRejected() {
        let bytes: [UInt8] = Array(#"["a\n"#.utf8) + [0xC3] + Array(#""]"#.utf8)
        let error = bytes.withUnsafeBufferPointer { buffer in
            Result { () throws(JSONSyntaxError) -> JSONValue in try JSONParser.parse(buffer) }
        }
        guard case .failure(let failure) = error else {
            Issue.record("invalid UTF-8 was accepted")
            return
        }
        #expect(failure.reason == "a string is not valid UTF-8")
    }

    @Test func validMultibyteTextIsKept() throws {
        let value = try JSONParser.parse(#"["日本", "é"]"#)
        #expect(value == .array([.string("日本"), .string("é")]))
    }
}

extension JSONValue {
    /// The bit pattern of a float, to tell -0.0 from 0.0; nil for any other value.
    fileprivate var doubleBits: UInt64? {
        if case .double(let number) = self { return number.bitPattern }
        return nil
    }
}
