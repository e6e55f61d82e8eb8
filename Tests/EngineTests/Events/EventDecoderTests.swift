import Testing

@testable import Engine

@Suite struct EventDecoderTests {
    @Test func fullEventDecodes() throws {
        let line = #"{"model": "shop.Product", "pk": 7, "signal": "post_save", "created": false, "update_fields": ["price", "stock"], "fields": {"id": 7, "team": {"id": 3}}}"#
        let event = try EventDecoder.decode(line)
        #expect(event.model == "shop.Product")
        #expect(event.pk == .int(7))
        #expect(event.signal == .postSave)
        #expect(!event.created)
        #expect(event.updateFields == ["price", "stock"])
        #expect(event.fields.keys == ["id", "team"])
        #expect(event.fields["team"]?["id"] == .int(3))
    }

    @Test func minimalEventGetsDefaults() throws {
        let event = try EventDecoder.decode(#"{"model": "shop.Product", "pk": "sku-1", "signal": "post_delete"}"#)
        #expect(event.pk == .string("sku-1"))
        #expect(event.signal == .postDelete)
        #expect(!event.created)
        #expect(event.updateFields == nil)
        #expect(event.fields.isEmpty)
    }

    @Test func nullUpdateFieldsIsAFullSave() throws {
        let event = try EventDecoder.decode(#"{"model": "m.M", "pk": 1, "signal": "post_save", "update_fields": null}"#)
        #expect(event.updateFields == nil)
    }

    @Test func emptyUpdateFieldsIsKept() throws {
        let event = try EventDecoder.decode(#"{"model": "m.M", "pk": 1, "signal": "post_save", "update_fields": []}"#)
        #expect(event.updateFields == [])
    }

    @Test func createdSaveDecodes() throws {
        let event = try EventDecoder.decode(#"{"model": "m.M", "pk": 1, "signal": "post_save", "created": true}"#)
        #expect(event.created)
    }

    @Test func jsonFormDecodesToTheSameEvent() throws {
        let events = [
            saveEvent(pk: 3, created: true, updateFields: nil, fields: object(("a", 1.5), ("b", nil))),
            saveEvent(pk: "x", updateFields: ["a"], fields: object(("a", .array([1, 2])))),
            deleteEvent(pk: 9, fields: object(("id", 9))),
        ]
        for event in events {
            let line = JSONWriter.string(event.json)
            #expect(try EventDecoder.decode(line) == event, "round trip of \(line)")
        }
    }

    @Test func deleteEventJSONHasNoCreatedMember() {
        #expect(deleteEvent().json.objectValue?.keys == ["model", "pk", "signal", "update_fields", "fields"])
    }

    /// Each row: a line and the reason it is rejected.
    @Test(arguments: [
        ("[1]", "expected a JSON object, got a list"),
        (#"{"model": "m.M", "pk": 1, "signal": "post_save""#, "invalid JSON at column 48: unexpected end of input, expected ',' or '}'"),
        (#"{"model": "m.M", "pk": 1, "signal": "post_save", "update_field": ["a"]}"#,
         "unknown member 'update_field' (did you mean 'update_fields'?)"),
        (#"{"model": "m.M", "pk": 1, "signal": "post_save", "extra": 1}"#, "unknown member 'extra' (an event line has only model, pk, signal, created, update_fields, fields)"),
        (#"{"pk": 1, "signal": "post_save"}"#, #""model" must be a non-empty string such as "shop.Product", got nothing"#),
        (#"{"model": "", "pk": 1, "signal": "post_save"}"#, #""model" must be a non-empty string such as "shop.Product", got """#),
        (#"{"model": 5, "pk": 1, "signal": "post_save"}"#, #""model" must be a non-empty string such as "shop.Product", got 5"#),
        (#"{"model": "m.M", "signal": "post_save"}"#, #""pk" is missing or null; every event needs the record's primary key"#),
        (#"{"model": "m.M", "pk": null, "signal": "post_save"}"#, #""pk" is missing or null; every event needs the record's primary key"#),
        (#"{"model": "m.M", "pk": 1, "signal": "pre_save"}"#, #""signal" must be "post_save" or "post_delete", got "pre_save""#),
        (#"{"model": "m.M", "pk": 1}"#, #""signal" must be "post_save" or "post_delete", got nothing"#),
        (#"{"model": "m.M", "pk": 1, "signal": "post_save", "created": "yes"}"#, #""created" must be true or false, got "yes""#),
        (#"{"model": "m.M", "pk": 1, "signal": "post_delete", "created": true}"#,
         #""created" is true on a post_delete event; only a save can create a record"#),
        (#"{"model": "m.M", "pk": 1, "signal": "post_save", "update_fields": "price"}"#,
         #""update_fields" must be a list of field names or null, got "price""#),
        (#"{"model": "m.M", "pk": 1, "signal": "post_save", "update_fields": ["a", 2]}"#,
         #""update_fields" must list field names as strings, got 2"#),
        (#"{"model": "m.M", "pk": 1, "signal": "post_save", "fields": [1]}"#,
         #""fields" must be an object of attribute values, got [1]"#),
    ])
    func badLineIsRejected(line: String, reason: String) {
        let error = #expect(throws: EventDecodingError.self) { try EventDecoder.decode(line) }
        #expect(error?.reason == reason)
        #expect(error?.description == reason)
    }

    @Test func longValueIsCutInTheReason() {
        let model = String(repeating: "m", count: 80)
        let error = #expect(throws: EventDecodingError.self) {
            try EventDecoder.decode(#"{"model": "m.M", "pk": 1, "signal": "\#(model)"}"#)
        }
        #expect(error?.reason == #""signal" must be "post_save" or "post_delete", got ""# + String(repeating: "m", count: 36) + "...")
    }
}
