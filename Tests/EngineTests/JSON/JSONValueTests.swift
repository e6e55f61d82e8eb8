import Testing

@testable import Engine

@Suite struct JSONValueTests {
    // MARK: - matches

    @Test(arguments: [
        (JSONValue.int(1), JSONValue.double(1.0)),
        (.double(1.0), .int(1)),
        (.int(-3), .double(-3.0)),
        (.double(0.0), .double(-0.0)),
        (.int(0), .double(-0.0)),
        (.double(2.5), .double(2.5)),
        (.null, .null),
        (.bool(true), .bool(true)),
        (.bool(false), .bool(false)),
        (.string("abc"), .string("abc")),
        (.array([.int(1), .double(2.0)]), .array([.double(1.0), .int(2)])),
        (
            .object(JSONObject([("a", .int(1)), ("b", .array([.bool(true)]))])),
            .object(JSONObject([("b", .array([.bool(true)])), ("a", .double(1.0))]))
        ),
    ])
    func valuesMatch(left: JSONValue, right: JSONValue) {
        #expect(left.matches(right))
    }

    @Test(arguments: [
        (JSONValue.bool(true), JSONValue.int(1)),
        (.int(1), .bool(true)),
        (.bool(false), .int(0)),
        (.double(0.0), .bool(false)),
        (.int(1), .double(1.5)),
        (.int(1), .string("1")),
        (.string("1"), .int(1)),
        (.string("abc"), .string("ABC")),
        (.string("abc"), .string("abc ")),
        (.string("é"), .string("e\u{301}")),
        (.null, .int(0)),
        (.null, .string("")),
        (.null, .bool(false)),
        (.int(0), .null),
        (.array([.int(1), .int(2)]), .array([.int(2), .int(1)])),
        (.array([.int(1)]), .array([.int(1), .int(1)])),
        (.object(JSONObject([("a", .int(1))])), .object(JSONObject([("a", .int(1)), ("b", .int(2))]))),
        (.object(JSONObject([("a", .int(1))])), .object(JSONObject([("b", .int(1))]))),
        (.array([]), .object(JSONObject())),
    ])
    func valuesDoNotMatch(left: JSONValue, right: JSONValue) {
        #expect(!left.matches(right))
    }

    // MARK: - Accessors

    @Test func intValueAcceptsWholeFloats() {
        #expect(JSONValue.double(4.0).intValue == 4)
        #expect(JSONValue.double(4.5).intValue == nil)
        #expect(JSONValue.int(7).intValue == 7)
        #expect(JSONValue.string("7").intValue == nil)
        #expect(JSONValue.bool(true).intValue == nil)
    }

    @Test(arguments: [
        (JSONValue.null, "null"),
        (.bool(true), "a boolean"),
        (.int(1), "an integer"),
        (.double(1), "a number"),
        (.string(""), "a string"),
        (.array([]), "a list"),
        (.object(JSONObject()), "an object"),
    ])
    func typeDescriptionNamesTheType(value: JSONValue, expected: String) {
        #expect(value.typeDescription == expected)
    }

    // MARK: - JSONObject

    @Test func settingAnExistingKeyKeepsItsPosition() {
        var object = JSONObject([("a", 1), ("b", 2)])
        object["a"] = 9
        #expect(object.keys == ["a", "b"])
        #expect(object["a"] == .int(9))
    }

    @Test func settingNilRemovesTheMember() {
        var object = JSONObject([("a", 1), ("b", 2), ("c", 3)])
        object["b"] = nil
        #expect(object.keys == ["a", "c"])
        #expect(object.count == 2)
    }

    @Test func initializerWithRepeatedKeysKeepsTheLastValue() {
        let object = JSONObject([("a", 1), ("a", 2)])
        #expect(object.count == 1)
        #expect(object["a"] == .int(2))
    }

    @Test func sortedByKeyOrdersMembers() {
        let object = JSONObject([("b", 1), ("a", 2), ("C", 3)])
        #expect(object.sortedByKey().keys == ["C", "a", "b"])
    }
}
