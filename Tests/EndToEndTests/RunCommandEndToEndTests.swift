import Engine
import Foundation
import TestSupport
import Testing

/// `dispatchtop run` over an event file: the exact bytes of each dispatch
/// record, and the reasons given for rejected lines.
@Suite(.serialized) struct RunCommandEndToEndTests {
    /// Four functions on two models: inline rules whose arguments carry
    /// strings, floats, lists and objects, and batched thread-pool rules.
    static let configuration = """
        {
          "settings": {"default_dispatcher": "inline"},
          "functions": [
            {"name": "shop.views.product_detail", "key": {"namespace": "shop", "partition": ["product_id"]},
             "rules": [{"id": "detail-on-product", "model": "shop.Product", "field_mapping": {"product_id": "id"}}]},
            {"name": "shop.views.product_text", "key": {"namespace": "shop"},
             "rules": [{"id": "text-on-product", "model": "shop.Product", "require_args": false,
                        "field_mapping": {"title": "title", "price": "price", "tags": "tags", "owner": "owner"}}]},
            {"name": "shop.views.product_list", "key": {"namespace": "shop", "partition": ["category_id"]},
             "rules": [{"id": "list-on-product", "model": "shop.Product", "field_mapping": {"category_id": "category.id"},
                        "dispatcher": "threadpool", "batch": true},
                       {"id": "list-on-mark", "model": "shop.Ma\u{0316}\u{0301}rk", "field_mapping": {"category_id": "id"},
                        "dispatcher": "threadpool", "batch": true}]},
            {"name": "shop.views.mark", "key": {"namespace": "shop", "partition": ["mark_id"]},
             "rules": [{"id": "mark-on-mark", "model": "shop.Ma\u{0316}\u{0301}rk", "field_mapping": {"mark_id": "id"}}]}
          ]
        }
        """

    /// The model name of the `shop.Ma…rk` rules, with its two combining marks
    /// in the other order: the same text to Swift's `==`, other bytes.
    static let reorderedMark = "shop.Ma\u{0301}\u{0316}rk"

    static let events = [
        #"{"model": "shop.Product", "pk": 1, "signal": "post_save", "fields": {"id": 1, "title": "plain", "price": 1.99, "tags": ["a", "b"], "owner": {"id": 3}, "category": {"id": 4}}}"#,
        #"{"model": "shop.Product", "pk": "sku-\"2\"", "signal": "post_save", "fields": {"id": 2, "title": "a\"b\\c\u0001 café 日本 😀", "price": 1e-7, "tags": [], "owner": null, "category": {"id": 4}}}"#,
        #"{"model": "shop.Ma\u0316\u0301rk", "pk": 3, "signal": "post_save", "fields": {"id": 3}}"#,
        #"{"model": "shop.Ma\u0301\u0316rk", "pk": 4, "signal": "post_save", "fields": {"id": 4}}"#,
        #"{"model": "shop.Ma\u0316\u0301rk", "pk": 5, "signal": "post_save", "fields": {"id": 5}}"#,
        #"{"model": "shop.Product", "pk": 6, "signal": "post_delete", "fields": {"id": 6, "title": "x", "price": -0.0, "tags": [1.5, {"k": [null, true]}], "owner": {"id": 3, "name": "o\nwner"}, "category": {"id": 7}}}"#,
        #"{"model": "shop.Product", "pk": 7, "signal": "post_save", "fields": {"id": 7}, "extra": 1}"#,
        "not json",
        #"{"model": "shop.Product", "pk": 8, "signal": "post_save", "pk": 9}"#,
    ].joined(separator: "\n") + "\n"

    /// The `rule_ids` of each record in dispatch order, by event.
    static let expectedRules: [(event: Int, rule: String)] = [
        (0, "detail-on-product"), (0, "text-on-product"), (0, "list-on-product"),
        (1, "detail-on-product"), (1, "text-on-product"), (1, "list-on-product"),
        (2, "mark-on-mark"), (2, "list-on-mark"),
        (3, "mark-on-mark"), (3, "list-on-mark"),
        (4, "mark-on-mark"), (4, "list-on-mark"),
        (5, "detail-on-product"), (5, "text-on-product"), (5, "list-on-product"),
    ]

    struct Run {
        var status: Int32
        var records: [String]
        var stderr: String
    }

    static func run(fromStandardInput: Bool) throws -> Run {
        let folder = try TemporaryDirectory(prefix: "run-e2e")
        defer { folder.remove() }
        let configuration = try folder.write("config.json", Self.configuration)
        let events = try folder.write("events.jsonl", Self.events)
        let completed = try ProcessRunner.run(
            [TmuxConsole.binary, "run", "--config", configuration, "--events", fromStandardInput ? "-" : events,
             "--journal", folder.file("journal.sqlite3")],
            environment: ["SWIFT_BACKTRACE": "enable=no"], stdinPath: fromStandardInput ? events : nil, timeout: 60)
        let records = completed.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(records.last == "", "the output ends with a newline")
        return Run(status: completed.status, records: Array(records.dropLast()), stderr: completed.stderr)
    }

    @Test(arguments: [["--once", "-d", "5"], ["run", "--ascii"], ["replay", "--no-color"]])
    func consoleOnlyOptionIsNamedAsSuch(arguments: [String]) throws {
        let completed = try ProcessRunner.run(
            [TmuxConsole.binary] + arguments, environment: ["SWIFT_BACKTRACE": "enable=no"], timeout: 60)
        #expect(completed.status == 2)
        #expect(
            completed.stderr.hasPrefix("\(arguments[1]) applies to the interactive console only, not to '\(arguments[0])'. Leave it out."),
            "\(completed.stderr)")
    }

    @Test func recordsAreCompactJSONInDispatchOrder() throws {
        let run = try Self.run(fromStandardInput: false)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.records.count == Self.expectedRules.count)
        for (index, record) in run.records.enumerated() {
            let value = try JSONParser.parse(record)
            // JSONWriter's compact text is the reference for every record,
            // byte for byte: Swift's `==` on strings would allow other bytes.
            #expect(Array(JSONWriter.string(value).utf8) == Array(record.utf8), "\(record)")
            #expect(value.objectValue?.keys == [
                "seq", "event", "batch", "dispatcher", "model", "pk", "signal", "rule_ids", "rule_kwargs", "outcome",
                "error",
            ])
            #expect(value["seq"] == .int(Int64(index + 1)))
            #expect(value["batch"] == .int(Int64(index + 1)))
            guard index < Self.expectedRules.count else { continue }
            #expect(value["event"] == .int(Int64(Self.expectedRules[index].event)))
            #expect(value["rule_ids"] == .array([.string(Self.expectedRules[index].rule)]))
            #expect(value["outcome"] == "done")
            #expect(value["error"] == .null)
        }
    }

    @Test func argumentValuesKeepTheirForm() throws {
        let run = try Self.run(fromStandardInput: false)
        try #require(run.records.count == Self.expectedRules.count)
        #expect(run.records[1].contains(#""rule_kwargs":{"text-on-product":{"title":"plain","price":1.99,"tags":["a","b"],"owner":{"id":3}}}"#))
        #expect(run.records[3].contains(#""pk":"sku-\"2\"""#))
        #expect(run.records[4].contains(#""title":"a\"b\\c\u0001 café 日本 😀","price":1e-07,"tags":[],"owner":null"#))
        #expect(run.records[13].contains(#""price":-0.0,"tags":[1.5,{"k":[null,true]}],"owner":{"id":3,"name":"o\nwner"}"#))
        #expect(run.records[12].contains(#""signal":"post_delete""#))
    }

    /// Records of one rule share most of their text. A model name that
    /// equals the rule's only as Unicode text must still come out with the
    /// event's own bytes.
    @Test func modelKeepsTheEventsBytes() throws {
        let run = try Self.run(fromStandardInput: false)
        try #require(run.records.count == Self.expectedRules.count)
        let ruleOrder = Array(#""model":"shop.Ma\#u{0316}\#u{0301}rk""#.utf8)
        let eventOrder = Array(#""model":"\#(Self.reorderedMark)""#.utf8)
        #expect(ruleOrder != eventOrder)
        for index in 6...11 {
            let bytes = Array(run.records[index].utf8)
            let expected = (8...9).contains(index) ? eventOrder : ruleOrder
            #expect(bytes.firstRange(of: expected) != nil, "record \(index + 1): \(run.records[index])")
        }
    }

    @Test func rejectedLinesAreReportedWithTheirReasons() throws {
        let run = try Self.run(fromStandardInput: false)
        let lines = run.stderr.split(separator: "\n").map(String.init)
        try #require(lines.count == 5, "\(run.stderr)")
        #expect(lines[0].hasSuffix("events.jsonl:7: rejected event line: unknown member 'extra' (an event line has only model, pk, signal, created, update_fields, fields)"))
        #expect(lines[1].hasSuffix("events.jsonl:8: rejected event line: invalid JSON at column 1: unexpected 'n', expected a value"))
        #expect(lines[2].hasSuffix(
            #"events.jsonl:9: rejected event line: invalid JSON at column 65: the member "pk" appears twice in this object"#))
        #expect(lines[3].hasPrefix(
            "events read 6, rejected lines 3, skipped (empty update_fields) 0, dispatches 15 (done 15, failed 0, sent 0, in the outbox 0), "))
        #expect(lines[4].hasPrefix("journal "))
    }

    @Test func standardInputGivesTheSameRecords() throws {
        let fromFile = try Self.run(fromStandardInput: false)
        let fromStandardInput = try Self.run(fromStandardInput: true)
        #expect(fromStandardInput.status == 0)
        #expect(fromStandardInput.records.map { Array($0.utf8) } == fromFile.records.map { Array($0.utf8) })
        #expect(fromStandardInput.stderr.contains("stdin:9: rejected event line: invalid JSON at column 65"))
    }
}
