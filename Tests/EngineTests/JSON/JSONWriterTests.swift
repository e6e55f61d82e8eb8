import Testing

@testable import Engine

@Suite struct JSONWriterTests {
    @Test(arguments: [
        (JSONValue.int(1), "1"),
        (.int(-42), "-42"),
        (.double(1.0), "1.0"),
        (.double(-0.0), "-0.0"),
        (.double(2.5), "2.5"),
        (.double(0.1), "0.1"),
        (.double(1e20), "1e+20"),
        (.double(.infinity), "null"),
        (.double(.nan), "null"),
        (.bool(true), "true"),
        (.null, "null"),
        (.array([]), "[]"),
        (.object(JSONObject()), "{}"),
        (.array([.int(1), .array([.int(2), .array([.double(3.5)])])]), "[1,[2,[3.5]]]"),
    ])
    func valueIsWrittenCompactly(value: JSONValue, expected: String) {
        #expect(JSONWriter.string(value) == expected)
    }

    @Test func objectKeepsMemberOrder() {
        let value: JSONValue = .object(JSONObject([("z", 1), ("a", 2), ("m", 3)]))
        #expect(JSONWriter.string(value) == #"{"z":1,"a":2,"m":3}"#)
    }

    @Test func sortKeysSortsEveryLevel() {
        let inner: JSONValue = .object(JSONObject([("y", 1), ("x", 2)]))
        let value: JSONValue = .object(JSONObject([("b", inner), ("a", [inner])]))
        let expected = #"{"a":[{"x":2,"y":1}],"b":{"x":2,"y":1}}"#
        #expect(JSONWriter.string(value, sortKeys: true) == expected)
    }

    @Test(arguments: [
        ("quote \" here", #""quote \" here""#),
        ("back \\ slash", #""back \\ slash""#),
        ("line\nfeed", #""line\nfeed""#),
        ("carriage\rreturn", #""carriage\rreturn""#),
        ("tab\there", #""tab\there""#),
        ("\u{0}\u{8}\u{C}\u{1F}", #""\u0000\u0008\u000c\u001f""#),
        ("slash / stays", #""slash / stays""#),
        ("café 😀", "\"café 😀\""),
        ("\u{7F}", "\"\u{7F}\""),
    ])
    func stringIsEscaped(text: String, expected: String) {
        #expect(JSONWriter.string(.string(text)) == expected)
    }

    @Test func bytesEqualTheStringForm() {
        let value: JSONValue = ["k": ["é", 1, 2.0, nil]]
        #expect(JSONWriter.bytes(value) == Array(JSONWriter.string(value).utf8))
    }

    @Test func descriptionIsTheJSONText() {
        let value: JSONValue = ["a": [1, "b"]]
        #expect(value.description == #"{"a":[1,"b"]}"#)
    }

    /// Writes random values and parses them back; the kinds of numbers, the
    /// member order and every string must survive.
    @Test func randomValuesRoundTrip() throws {
        var generator = SeededGenerator(seed: 0x5EED_0001)
        for _ in 0..<500 {
            let value = randomValue(depth: 0, using: &generator)
            let text = JSONWriter.string(value)
            let parsed = try JSONParser.parse(text)
            #expect(parsed == value, "round trip of \(text)")
        }
    }

    private func randomValue(depth: Int, using generator: inout SeededGenerator) -> JSONValue {
        let choice = Int.random(in: 0..<(depth > 3 ? 5 : 7), using: &generator)
        switch choice {
        case 0: return .null
        case 1: return .bool(Bool.random(using: &generator))
        case 2: return .int(Int64.random(in: Int64.min...Int64.max, using: &generator))
        case 3:
            let number = Double(bitPattern: UInt64.random(in: 0...UInt64.max, using: &generator))
            return .double(number.isFinite ? number : 0.5)
        case 4: return .string(randomString(using: &generator))
        case 5:
            let count = Int.random(in: 0..<4, using: &generator)
            return .array((0..<count).map { _ in randomValue(depth: depth + 1, using: &generator) })
        default:
            var object = JSONObject()
            for _ in 0..<Int.random(in: 0..<4, using: &generator) {
                object[randomString(using: &generator)] = randomValue(depth: depth + 1, using: &generator)
            }
            return .object(object)
        }
    }

    private func randomString(using generator: inout SeededGenerator) -> String {
        let pieces = ["a", "Z", "\"", "\\", "\n", "\u{1}", "\u{1F}", "é", "日", "😀", " ", "/", "::"]
        let count = Int.random(in: 0..<6, using: &generator)
        return (0..<count).map { _ in pieces.randomElement(using: &generator)! }.joined()
    }

    @Test func rawTextIsCopiedUnchanged() {
        var output = Array("[".utf8)
        JSONWriter.writeRaw(#"{"a":"#, into: &output)
        JSONWriter.write(.int(-9_223_372_036_854_775_808), into: &output)
        JSONWriter.writeRaw("}]", into: &output)
        #expect(String(decoding: output, as: UTF8.self) == #"[{"a":-9223372036854775808}]"#)
    }

    @Test func objectWithCapacityStartsEmpty() {
        var object = JSONObject(capacity: 4)
        #expect(object.isEmpty)
        object.appendUnchecked("a", 1)
        #expect(JSONWriter.string(.object(object)) == #"{"a":1}"#)
    }
}
