import Testing

@testable import Engine

/// The direct event line reader must give the value-tree decoder's event
/// for every line it takes, and must leave every other line to that decoder.
@Suite struct JSONParserEventLineTests {
    /// What a line decodes to: an event, or the rejection reason.
    enum Decoded: Equatable {
        case event(ChangeEvent)
        case rejected(String)
    }

    static func direct(_ line: String) -> ChangeEvent? {
        var copy = line
        return copy.withUTF8 { JSONParser.parseEventLine($0) }
    }

    static func outcome(_ decode: () throws(EventDecodingError) -> ChangeEvent) -> Decoded {
        do throws(EventDecodingError) {
            return .event(try decode())
        } catch {
            return .rejected(error.reason)
        }
    }

    static func decoded(_ line: String) -> Decoded {
        var copy = line
        return copy.withUTF8 { bytes in outcome { () throws(EventDecodingError) in try EventDecoder.decode(bytes) } }
    }

    static func decodedThroughValueTree(_ line: String) -> Decoded {
        var copy = line
        return copy.withUTF8 { bytes in
            outcome { () throws(EventDecodingError) in try EventDecoder.decodeValueTree(bytes) }
        }
    }

    /// Checks that the direct reader takes `line` and agrees with the value tree.
    static func expectReadDirectly(_ line: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let tree = decodedThroughValueTree(line)
        guard case .event(let expected) = tree else {
            Issue.record("the value tree rejects \(line): \(tree)", sourceLocation: sourceLocation)
            return
        }
        let event = direct(line)
        #expect(event != nil, "the direct reader does not take \(line)", sourceLocation: sourceLocation)
        #expect(event == expected, "\(line)", sourceLocation: sourceLocation)
        #expect(decoded(line) == tree, "\(line)", sourceLocation: sourceLocation)
    }

    static func event(_ fields: String) -> String {
        #"{"model": "shop.Product", "pk": 7, "signal": "post_save", "fields": {"n": \#(fields)}}"#
    }

    // MARK: - Lines read directly

    @Test(arguments: [
        #"{"model": "shop.Product", "pk": 7, "signal": "post_save", "created": false, "update_fields": ["price"], "fields": {"id": 7}}"#,
        #"{"fields": {"id": 7}, "update_fields": ["price"], "created": false, "signal": "post_save", "pk": 7, "model": "shop.Product"}"#,
        #"{"signal": "post_delete", "model": "shop.Product", "pk": 7}"#,
        #"{"pk": 7, "fields": {"id": 7, "team": {"id": 3}}, "model": "shop.Product", "signal": "post_save"}"#,
    ])
    func memberOrderDoesNotMatter(line: String) {
        Self.expectReadDirectly(line)
    }

    @Test(arguments: [
        "  {  \"model\" : \"m.M\" ,\t\"pk\" : 1 , \"signal\" : \"post_save\" }  ",
        "{\"model\":\"m.M\",\"pk\":1,\"signal\":\"post_save\",\"update_fields\":[ \"a\" ,\"b\" ],\"fields\":{ }}",
        "{\r\"model\":\t\"m.M\", \"pk\": 1,\n\"signal\": \"post_save\" ,\"fields\" :{\"a\" : [ 1 , 2 ] } }\t",
        "{\"model\": \"m.M\", \"pk\": 1, \"signal\": \"post_save\", \"update_fields\": [ ]}",
    ])
    func whitespaceBetweenTokensIsAccepted(line: String) {
        Self.expectReadDirectly(line)
    }

    @Test(arguments: [
        #"{"mod\u0065l": "m.M", "pk": 1, "sign\u0061l": "post_save"}"#,
        #"{"model": "m.M", "pk": 1, "signal": "post\u005fsave"}"#,
        #"{"model": "m.M", "pk": 1, "signal": "post_d\u0065lete"}"#,
        #"{"model": "sh\u006fp.Pr\u00f6duct", "pk": "a\"b\\c\/d", "signal": "post_save"}"#,
        #"{"model": "m.M", "pk": 1, "signal": "post_save", "update_fields": ["pr\u0069ce", "\ud83d\ude00"]}"#,
        #"{"model": "m.M", "pk": 1, "signal": "post_save", "fields": {"t\u00e9": "\b\f\n\r\t\u0000 café 日本 😀"}}"#,
        #"{"upd\u0061te_fields": ["a"], "f\u0069elds": {"a": 1}, "cr\u0065ated": true, "p\u006b": 1, "model": "m.M", "signal": "post_save"}"#,
    ])
    func escapesInNamesAndValuesDecode(line: String) {
        Self.expectReadDirectly(line)
    }

    @Test(arguments: [
        "0", "-0", "42", "-17", "123456789012345678", "1234567890123456789", "9223372036854775807",
        "-9223372036854775808", "9223372036854775808", "-9223372036854775809", "1.0", "-0.0", "2.5",
        "1.99", "0.1", "1e3", "1E-2", "6.02e+23", "-2.25E3", "1e-7", "123456789.123456789", "1.7976931348623157e308",
        "5e-324", "0.30000000000000004", "100000000000000000000000",
    ])
    func everyNumberFormDecodes(number: String) {
        Self.expectReadDirectly(Self.event(number))
        Self.expectReadDirectly(#"{"model": "m.M", "pk": \#(number), "signal": "post_save"}"#)
    }

    @Test(arguments: [
        #"{"a": {"b": {"c": [1, {"d": null}]}}, "e": [], "f": {}}"#,
        #"[[[["deep"]]], true, false, null]"#,
        #"{"id": 7, "archived": false, "price": 9.99, "tags": ["x", "y"], "owner": {"id": 3, "team": {"id": 4}}}"#,
    ])
    func nestedValuesInFieldsDecode(fields: String) {
        Self.expectReadDirectly(#"{"model": "m.M", "pk": 1, "signal": "post_save", "fields": {"value": \#(fields)}}"#)
        Self.expectReadDirectly(#"{"model": "m.M", "pk": \#(fields), "signal": "post_save"}"#)
    }

    @Test func fieldsNestedToTheDepthLimitDecode() {
        // The line object is one level and "fields" a second, so the list
        // nesting may add 254 more.
        let nested = String(repeating: "[", count: 254) + String(repeating: "]", count: 254)
        Self.expectReadDirectly(#"{"model": "m.M", "pk": 1, "signal": "post_save", "fields": {"x": \#(nested)}}"#)
    }

    @Test(arguments: [
        #"{"model": "m.M", "pk": 1, "signal": "post_save", "created": null, "update_fields": null, "fields": null}"#,
        #"{"model": "m.M", "pk": 1, "signal": "post_save", "created": true}"#,
        #"{"model": "m.M", "pk": 1, "signal": "post_delete", "created": false}"#,
        #"{"model": "m.M", "pk": 1, "signal": "post_delete", "created": null}"#,
        #"{"model": "m.M", "pk": true, "signal": "post_save"}"#,
        #"{"model": "m.M", "pk": "sku-1", "signal": "post_save", "update_fields": [], "fields": {}}"#,
    ])
    func optionalMembersAndDefaultsDecode(line: String) {
        Self.expectReadDirectly(line)
    }

    @Test func eventLineOfTheWriterDecodes() {
        let event = ChangeEvent(
            model: "bench.Item", pk: 12, signal: .postSave, updateFields: ["price"],
            fields: JSONObject([("id", 12), ("price", 12.99), ("archived", false)]))
        let line = JSONWriter.string(event.json)
        #expect(Self.direct(line) == event)
    }

    // MARK: - Lines left to the value tree

    /// Each row: a line the direct reader must not take, and the reason
    /// the decoder gives for it.
    @Test(arguments: [
        ("\u{FEFF}" + #"{"model": "m.M", "pk": 1, "signal": "post_save"}"#,
         "invalid JSON at column 1: unexpected byte 0xEF, expected a value"),
        (#"{"model": "m.M", "pk": 1, "signal": "post_save", "pk": 2}"#,
         #"invalid JSON at column 56: the member "pk" appears twice in this object"#),
        (#"{"model": "m.M", "pk": 1, "signal": "post_save", "mod\u0065l": "x"}"#,
         #"invalid JSON at column 64: the member "model" appears twice in this object"#),
        (#"{"model": "m.M", "pk": 1, "signal": "post_save", "fields": {"a": 1, "a": 2}}"#,
         #"invalid JSON at column 74: the member "a" appears twice in this object"#),
        (#"{"model": "m.M", "pk": 1, "signal": "post_save", "extra": {"a": 1, "a": 2}}"#,
         #"invalid JSON at column 73: the member "a" appears twice in this object"#),
        (#"{"model": "m.M", "pk": 1, "signal": "post_save", "extra": 1, "fields": [1]}"#, "unknown member 'extra' (an event line has only model, pk, signal, created, update_fields, fields)"),
        (#"{"model": "m.M", "pk": 1, "signal": "post_save", "extra": [1,}"#,
         "invalid JSON at column 62: unexpected '}', expected a value"),
        (#"{"model": "m.M", "pk": 1, "signal": "post_save",}"#,
         "invalid JSON at column 49: unexpected '}', expected a member name in double quotes"),
        (#"{"model": "m.M", "pk": 1, "signal": "post_save"} x"#,
         "invalid JSON at column 50: unexpected 'x' after the end of the JSON value"),
        (#"{"model": "m.M", "pk": 1, "signal": "post_save", "update_fields": ["a",]}"#,
         "invalid JSON at column 72: unexpected ']', expected a value"),
        (#"{"model": "m.M", "pk": 1, "signal": "post_save", "update_fields": ["a" "b"]}"#,
         "invalid JSON at column 72: unexpected '\"', expected ',' or ']'"),
        (#"{"model": "m.M", "pk": 1, "signal": "post_save", "update_fields": [null]}"#,
         #""update_fields" must list field names as strings, got null"#),
        (#"{"model": "m.M", "pk": 1, "signal": "post_save", "update_fields": [["a"]]}"#,
         #""update_fields" must list field names as strings, got ["a"]"#),
        (#"{"model": "m.M", "pk": 1, "signal": "post_"#, "invalid JSON at column 43: the input ended inside a string"),
        (#"{"model": "m.M", "pk": 1, "signal": "post_save\u0000"}"#,
         #""signal" must be "post_save" or "post_delete", got "post_save\u0000""#),
        (#"{"model": "m.M", "pk": 1, "signal": "POST_SAVE"}"#,
         #""signal" must be "post_save" or "post_delete", got "POST_SAVE""#),
        (#"{"model": "m.M", "pk": 1, "signal": "post_delete", "created": true, "created": true}"#,
         #"invalid JSON at column 80: the member "created" appears twice in this object"#),
        (#"{"model": "m.M", "pk": 1, "signal": "post_save", "fields": {"n": 01}}"#,
         "invalid JSON at column 67: a number cannot have a leading zero"),
        (#"{"model": "m.M", "pk": 1, "signal": "post_save", "fields": {"n": 1e400}}"#,
         "invalid JSON at column 71: the number 1e400 is out of range"),
        (#"{"model": "m.M", "pk": 1, "signal": "post_save", "fields": {"n": "\ud83d"}}"#,
         "invalid JSON at column 73: a high surrogate \\u escape must be followed by a low surrogate"),
        (#"{"model": "m.M", "pk": 1, "signal": "post_save", "fields": {"n": tru}}"#,
         "invalid JSON at column 66: unexpected 't', expected a value"),
        (#"{"model": "m.M", "pk": 1, "signal": "post_save"}{"x": 1}"#,
         "invalid JSON at column 49: unexpected '{' after the end of the JSON value"),
        ("{\"mödel\": \"m.M\", \"pk\": 1, \"signal\": \"post_save\"}", "unknown member 'mödel' (did you mean 'model'?)"),
        (#"{"": 1}"#, "unknown member '' (an event line has only model, pk, signal, created, update_fields, fields)"),
        ("{}", #""model" must be a non-empty string such as "shop.Product", got nothing"#),
        (#""x""#, "expected a JSON object, got a string"),
        ("", "invalid JSON at column 1: the input is empty, expected a JSON value"),
    ])
    func lineIsLeftToTheValueTree(line: String, reason: String) {
        #expect(Self.direct(line) == nil)
        #expect(Self.decoded(line) == .rejected(reason))
        #expect(Self.decodedThroughValueTree(line) == .rejected(reason))
    }

    @Test func nestingPastTheDepthLimitIsRejectedAsBefore() {
        let nested = String(repeating: "[", count: 255) + String(repeating: "]", count: 255)
        let line = #"{"model": "m.M", "pk": 1, "signal": "post_save", "fields": {"x": \#(nested)}}"#
        #expect(Self.direct(line) == nil)
        #expect(Self.decoded(line) == .rejected("invalid JSON at column 320: lists and objects are nested deeper than 256 levels"))
    }

    @Test func invalidUTF8IsRejectedAsBefore() {
        let bytes = Array(#"{"model": "m.M", "pk": 1, "signal": "post_save", "fields": {"n": ""#.utf8) + [0xFF, 0xFE]
            + Array(#""}}"#.utf8)
        let decoded = bytes.withUnsafeBufferPointer { buffer -> Decoded in
            #expect(JSONParser.parseEventLine(buffer) == nil)
            return Self.outcome { () throws(EventDecodingError) in try EventDecoder.decode(buffer) }
        }
        #expect(decoded == .rejected("invalid JSON at column 69: a string is not valid UTF-8"))
    }

    // MARK: - Mutated lines

    /// Lines with random bytes deleted, inserted, cut or repeated decode to
    /// the same event, or the same rejection, either way.
    @Test func mutatedLinesDecodeAsThroughTheValueTree() {
        let seeds = [
            #"{"model": "shop.Product", "pk": 7, "signal": "post_save", "created": false, "update_fields": ["price"], "fields": {"id": 7, "archived": false, "category": {"id": 3}}}"#,
            #"{"fields": {"id": 7, "n": [1.5, -2e3, null]}, "update_fields": ["price", "title"], "signal": "post_delete", "pk": "k", "model": "shop.Product"}"#,
            #"{"mod\u0065l": "m.M", "pk": 10, "signal": "post\u005fsave", "created": true, "fields": {"t\u00e9": "a\"b\\c"}}"#,
        ]
        let pieces = [
            "{", "}", "[", "]", "\"", ",", ":", "\\", " ", "\t", "0", "7", "-", "+", ".", "e", "E", "t", "f", "n", "\\u0041",
            "é", "\u{01}", "post_delete", "null", "true", "\"pk\": 1,", "\"created\": true,", "\"extra\": 1,",
        ]
        var generator = SeededGenerator(seed: 20_261_205)
        var direct = 0
        for round in 0..<20_000 {
            var line = Array(seeds[round % seeds.count])
            for _ in 0..<Int.random(in: 1...3, using: &generator) {
                let index = Int.random(in: 0...line.count, using: &generator)
                switch Int.random(in: 0..<3, using: &generator) {
                case 0 where index < line.count: line.remove(at: index)
                case 1: line.insert(contentsOf: pieces.randomElement(using: &generator)!, at: index)
                default:
                    let other = Int.random(in: 0...line.count, using: &generator)
                    let range = min(index, other)..<max(index, other)
                    line.insert(contentsOf: line[range], at: range.upperBound)
                }
            }
            let text = String(line)
            let tree = Self.decodedThroughValueTree(text)
            if let event = Self.direct(text) {
                direct += 1
                #expect(tree == .event(event), "\(text)")
            }
            #expect(Self.decoded(text) == tree, "\(text)")
        }
        // The mutations leave some lines valid; they must go the direct way.
        #expect(direct > 500)
    }

    // MARK: - Values reused from earlier lines

    static func direct(_ line: String, cache: inout EventLineCache) -> ChangeEvent? {
        var copy = line
        return copy.withUTF8 { JSONParser.parseEventLine($0, cache: &cache) }
    }

    /// Lines read one after another share what they repeat, and each still
    /// decodes as it does alone.
    @Test func repeatedTextDecodesAsAlone() {
        let models = (0..<12).map { "shop.Model\($0)" } + [#"shop.M\u006fdel1"#, "shop.Model1x", String(repeating: "m", count: 300)]
        let updateFields = [#"["price"]"#, #"["price", "stock"]"#, #"["price"  ]"#, "[]", #"["pr\u0069ce"]"#, "null", #"["price"]"#]
        var cache = EventLineCache()
        for round in 0..<200 {
            let model = models[(round * 7) % models.count]
            let fields = updateFields[(round * 3) % updateFields.count]
            let line = #"{"model": "\#(model)", "pk": \#(round), "signal": "post_save", "update_fields": \#(fields), "fields": {"id": \#(round)}}"#
            let expected = Self.decodedThroughValueTree(line)
            #expect(Self.direct(line, cache: &cache).map(Decoded.event) == expected, "\(line)")
        }
    }

    /// Each row: the `fields` objects of consecutive lines.
    @Test(arguments: [
        [#"{"id": 1, "a": 2}"#, #"{"id": 1, "a": 2, "id": 3}"#, #"{"id": 1, "a": 2}"#],
        [#"{"a": 1, "a": 2}"#, #"{"a": 1, "a": 2}"#, #"{"a": 1, "b": 2, "b": 3}"#, #"{"a": 1, "b": 2, "b": 3}"#],
        [#"{"id": 1, "a": 2}"#, #"{"id": 1, "id": 2}"#, #"{"id": 1}"#, #"{"id": 1, "a": 2, "b": 3}"#],
        [#"{"id": 1, "a": 2}"#, #"{"a": 2, "id": 1}"#, #"{"i\u0064": 1, "a": 2}"#, #"{"id": 1, "a": 2, "a": 2}"#],
        [#"{"id": 1}"#, #"{}"#, #"{"id": 1}"#, #"{"id" : 1 ,"a":{"id": 1, "id": 2}}"#, #"{"id": 1, "a": {}}"#],
        [#"{"é": 1, "x": 2}"#, #"{"é": 1, "e\u0301": 2}"#, #"{"é": 1, "x": 2}"#],
        [#"{"\#(String(repeating: "k", count: 300))": 1, "a": 2}"#, #"{"\#(String(repeating: "k", count: 300))": 1, "a": 2}"#],
    ])
    func fieldNamesAcrossLinesDecodeAsAlone(objects: [String]) {
        var cache = EventLineCache()
        for _ in 0..<2 {
            for object in objects {
                let line = #"{"model": "m.M", "pk": 1, "signal": "post_save", "fields": \#(object)}"#
                let tree = Self.decodedThroughValueTree(line)
                let event = Self.direct(line, cache: &cache)
                if case .event = tree {
                    #expect(event.map(Decoded.event) == tree, "\(line)")
                } else {
                    #expect(event == nil, "\(line)")
                }
            }
        }
    }

    @Test func repeatedModelSharesItsString() throws {
        var cache = EventLineCache()
        let model = String(repeating: "m", count: 40)
        let first = try #require(Self.direct(#"{"model": "\#(model)", "pk": 1, "signal": "post_save"}"#, cache: &cache))
        let second = try #require(Self.direct(#"{"model": "\#(model)", "pk": 2, "signal": "post_save"}"#, cache: &cache))
        #expect(first.model == model)
        #expect(second.model.utf8.elementsEqual(model.utf8))
        var firstModel = first.model
        var secondModel = second.model
        let shared = firstModel.withUTF8 { one in secondModel.withUTF8 { two in one.baseAddress == two.baseAddress } }
        #expect(shared, "the second event reuses the first one's string storage")
    }

    /// Randomly mutated lines, read one after another with one cache. Each
    /// line is read twice in a row, so that what the first reading leaves
    /// in the cache meets the same text again.
    @Test func mutatedLinesWithOneCacheDecodeAsAlone() {
        let seeds = [
            #"{"model": "shop.Product", "pk": 7, "signal": "post_save", "update_fields": ["price"], "fields": {"id": 7}}"#,
            #"{"update_fields": ["price", "title"], "signal": "post_delete", "pk": "k", "model": "shop.Order"}"#,
            #"{"model": "shop.Product", "pk": 8, "signal": "post_save", "update_fields": ["price"], "fields": {"id": 8, "a": [1]}}"#,
            #"{"model": "shop.Product", "pk": 9, "signal": "post_save", "fields": {"a": 1, "b": 2, "id": 9}}"#,
        ]
        let pieces = [
            "\"", "]", "[", ",", " ", "x", "\\", "\"price\"", "Product", "null", #""a": 0, "#, #""id": 0, "#, #", "b": 0"#,
        ]
        var generator = SeededGenerator(seed: 4_711)
        var cache = EventLineCache()
        for round in 0..<20_000 {
            var line = Array(seeds[round % seeds.count])
            for _ in 0..<Int.random(in: 0...2, using: &generator) {
                let index = Int.random(in: 0...line.count, using: &generator)
                if Bool.random(using: &generator), index < line.count {
                    line.remove(at: index)
                } else {
                    line.insert(contentsOf: pieces.randomElement(using: &generator)!, at: index)
                }
            }
            let text = String(line)
            let tree = Self.decodedThroughValueTree(text)
            for _ in 0..<2 {
                if let event = Self.direct(text, cache: &cache) {
                    #expect(tree == .event(event), "\(text)")
                }
            }
        }
    }
}
