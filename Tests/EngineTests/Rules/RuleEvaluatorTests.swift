import Testing

@testable import Engine

/// What evaluating one rule against one event gives.
enum RuleOutcome: Sendable, Equatable {
    /// The rule runs with these arguments.
    case runs(JSONObject)
    case skipped(RuleEvaluator.Skip)
}

/// One row of a rule table: a rule of `shop.Product`, an event, the outcome.
struct RuleCase: Sendable, CustomTestStringConvertible {
    var label: String
    /// Rule members besides `"model": "shop.Product"`, as JSON object members.
    var rule: String
    var event: ChangeEvent
    var expected: RuleOutcome

    init(_ label: String, rule: String, event: ChangeEvent, _ expected: RuleOutcome) {
        self.label = label
        self.rule = rule
        self.event = event
        self.expected = expected
    }

    var testDescription: String { label }
}

@Suite struct RuleEvaluatorTests {
    static func evaluator(for rule: String) throws -> RuleEvaluator {
        let members = rule.isEmpty ? #""model": "shop.Product""# : #""model": "shop.Product", "# + rule
        return RuleEvaluator(rules: try compileRules(singleRuleDocument(members)))
    }

    static func outcome(_ rule: String, _ event: ChangeEvent) throws -> RuleOutcome {
        switch try evaluator(for: rule).arguments(forRule: 0, event: event) {
        case .success(let arguments): return .runs(arguments)
        case .failure(let reason): return .skipped(reason.skip)
        }
    }

    static func check(_ row: RuleCase) throws {
        let evaluator = try evaluator(for: row.rule)
        let outcome = try outcome(row.rule, row.event)
        #expect(outcome == row.expected)
        // The plan must agree: one dispatch when the rule runs, none when skipped.
        let planned = evaluator.plan(row.event)
        if case .runs(let arguments) = row.expected {
            #expect(planned.map(\.ruleIndices) == [[0]])
            #expect(planned.first?.arguments == [arguments])
        } else {
            #expect(planned.isEmpty)
        }
    }

    static let product = #""field_mapping": {"product_id": "id"}"#

    // MARK: - field_mapping

    static let fieldMappingCases: [RuleCase] = [
        RuleCase(
            "flat attribute", rule: product, event: saveEvent(fields: object(("id", 7))),
            .runs(object(("product_id", 7)))),
        RuleCase(
            "dotted path", rule: #""field_mapping": {"owner": "team.owner.id"}"#,
            event: saveEvent(fields: object(("team", .object(object(("owner", .object(object(("id", 5))))))))),
            .runs(object(("owner", 5)))),
        RuleCase(
            "dotted path to an object", rule: #""field_mapping": {"team": "team"}"#,
            event: saveEvent(fields: object(("team", .object(object(("id", 5), ("name", "core")))))),
            .runs(object(("team", .object(object(("id", 5), ("name", "core"))))))),
        RuleCase(
            "missing attribute resolves to null", rule: #""field_mapping": {"owner": "owner_id"}, "require_args": false"#,
            event: saveEvent(fields: object(("id", 1))), .runs(object(("owner", nil)))),
        RuleCase(
            "null intermediate resolves to null",
            rule: #""field_mapping": {"owner": "team.owner.id"}, "require_args": false"#,
            event: saveEvent(fields: object(("team", nil))), .runs(object(("owner", nil)))),
        RuleCase(
            "missing intermediate resolves to null",
            rule: #""field_mapping": {"owner": "team.owner.id"}, "require_args": false"#,
            event: saveEvent(fields: object(("team", .object(object(("id", 1)))))), .runs(object(("owner", nil)))),
        RuleCase(
            "scalar intermediate resolves to null", rule: #""field_mapping": {"owner": "team.owner"}, "require_args": false"#,
            event: saveEvent(fields: object(("team", 5))), .runs(object(("owner", nil)))),
        RuleCase(
            "arguments keep field_mapping order", rule: #""field_mapping": {"z": "a", "a": "b", "m": "c"}"#,
            event: saveEvent(fields: object(("c", 3), ("b", 2), ("a", 1))), .runs(object(("z", 1), ("a", 2), ("m", 3)))),
        RuleCase(
            "values keep their JSON kind", rule: #""field_mapping": {"f": "price", "i": "count", "s": "name", "b": "on"}"#,
            event: saveEvent(fields: object(("price", 2.0), ("count", 2), ("name", "2"), ("on", true))),
            .runs(object(("f", 2.0), ("i", 2), ("s", "2"), ("b", true)))),
        RuleCase(
            "pk resolves to the event pk", rule: #""field_mapping": {"product_id": "pk"}"#,
            event: saveEvent(pk: 42, fields: object(("id", 1))), .runs(object(("product_id", 42)))),
        RuleCase(
            "string pk resolves too", rule: #""field_mapping": {"product_id": "pk"}"#,
            event: saveEvent(pk: "sku-9"), .runs(object(("product_id", "sku-9")))),
        RuleCase(
            "a pk field wins over the event pk", rule: #""field_mapping": {"product_id": "pk"}"#,
            event: saveEvent(pk: 42, fields: object(("pk", 7))), .runs(object(("product_id", 7)))),
        RuleCase(
            "no field_mapping runs with no arguments", rule: "", event: saveEvent(fields: object(("id", 1))),
            .runs(JSONObject())),
    ]

    @Test(arguments: fieldMappingCases)
    func fieldMapping(row: RuleCase) throws {
        try Self.check(row)
    }

    // MARK: - require_args

    static let pair = #""field_mapping": {"team": "team_id", "owner": "owner_id"}"#

    static let requireArgsCases: [RuleCase] = [
        RuleCase(
            "default: all present runs", rule: pair, event: saveEvent(fields: object(("team_id", 1), ("owner_id", 2))),
            .runs(object(("team", 1), ("owner", 2)))),
        RuleCase(
            "default: a null skips", rule: pair, event: saveEvent(fields: object(("team_id", 1), ("owner_id", nil))),
            .skipped(.missingArguments)),
        RuleCase(
            "default: a missing attribute skips", rule: pair, event: saveEvent(fields: object(("team_id", 1))),
            .skipped(.missingArguments)),
        RuleCase(
            "true: a null skips", rule: pair + #", "require_args": true"#,
            event: saveEvent(fields: object(("team_id", nil), ("owner_id", 2))), .skipped(.missingArguments)),
        RuleCase(
            "false: nulls pass through", rule: pair + #", "require_args": false"#,
            event: saveEvent(fields: object(("team_id", nil))), .runs(object(("team", nil), ("owner", nil)))),
        RuleCase(
            "list: the other argument may be null", rule: pair + #", "require_args": ["team"]"#,
            event: saveEvent(fields: object(("team_id", 1), ("owner_id", nil))), .runs(object(("team", 1), ("owner", nil)))),
        RuleCase(
            "list: the other argument may be missing", rule: pair + #", "require_args": ["team"]"#,
            event: saveEvent(fields: object(("team_id", 1))), .runs(object(("team", 1), ("owner", nil)))),
        RuleCase(
            "list: a null required argument skips", rule: pair + #", "require_args": ["team"]"#,
            event: saveEvent(fields: object(("team_id", nil), ("owner_id", 2))), .skipped(.missingArguments)),
        RuleCase(
            "list: a missing required argument skips", rule: pair + #", "require_args": ["owner"]"#,
            event: saveEvent(fields: object(("team_id", 1))), .skipped(.missingArguments)),
        RuleCase(
            "empty list: everything may be null", rule: pair + #", "require_args": []"#,
            event: saveEvent(), .runs(object(("team", nil), ("owner", nil)))),
        RuleCase(
            "false still keeps non-null values", rule: pair + #", "require_args": false"#,
            event: saveEvent(fields: object(("owner_id", 0))), .runs(object(("team", nil), ("owner", 0)))),
    ]

    @Test(arguments: requireArgsCases)
    func requireArgs(row: RuleCase) throws {
        try Self.check(row)
    }

    // MARK: - trigger_on_create and watch_fields

    static let watchPrice = product + #", "watch_fields": ["price", "stock"]"#
    static let record = object(("id", 7))

    static let saveCases: [RuleCase] = [
        RuleCase("create skips by default", rule: product, event: saveEvent(created: true, fields: record), .skipped(.created)),
        RuleCase(
            "create runs with trigger_on_create", rule: product + #", "trigger_on_create": true"#,
            event: saveEvent(created: true, fields: record), .runs(object(("product_id", 7)))),
        RuleCase(
            "create ignores watch_fields", rule: watchPrice + #", "trigger_on_create": true"#,
            event: saveEvent(created: true, updateFields: ["name"], fields: record), .runs(object(("product_id", 7)))),
        RuleCase(
            "create with watch_fields still needs trigger_on_create", rule: watchPrice,
            event: saveEvent(created: true, fields: record), .skipped(.created)),
        RuleCase(
            "update runs without trigger_on_create", rule: product, event: saveEvent(created: false, fields: record),
            .runs(object(("product_id", 7)))),
        RuleCase(
            "delete runs without trigger_on_create", rule: product, event: deleteEvent(fields: record),
            .runs(object(("product_id", 7)))),
        RuleCase(
            "partial save sharing a watched field runs", rule: watchPrice,
            event: saveEvent(updateFields: ["name", "stock"], fields: record), .runs(object(("product_id", 7)))),
        RuleCase(
            "partial save without a watched field skips", rule: watchPrice,
            event: saveEvent(updateFields: ["name", "slug"], fields: record), .skipped(.watchFields)),
        RuleCase(
            "full save runs the watching rule", rule: watchPrice, event: saveEvent(updateFields: nil, fields: record),
            .runs(object(("product_id", 7)))),
        RuleCase(
            "delete runs the watching rule", rule: watchPrice, event: deleteEvent(fields: record),
            .runs(object(("product_id", 7)))),
        RuleCase(
            "empty watch_fields watches everything", rule: product + #", "watch_fields": []"#,
            event: saveEvent(updateFields: ["name"], fields: record), .runs(object(("product_id", 7)))),
        RuleCase(
            "watched field names compare exactly", rule: watchPrice,
            event: saveEvent(updateFields: ["Price"], fields: record), .skipped(.watchFields)),
        // Names of different UTF-8 lengths never match, as Python compares
        // code points: a Kelvin sign is not K, nor "e" + U+0301 an "é".
        RuleCase(
            "kelvin sign differs from K", rule: product + #", "watch_fields": ["K"]"#,
            event: saveEvent(updateFields: ["\u{212A}"], fields: record), .skipped(.watchFields)),
        RuleCase(
            "decomposed name differs from composed", rule: product + #", "watch_fields": ["caf\#u{E9}"]"#,
            event: saveEvent(updateFields: ["cafe\u{301}"], fields: record), .skipped(.watchFields)),
        RuleCase(
            "non-ASCII watched name matches itself", rule: product + #", "watch_fields": ["caf\#u{E9}"]"#,
            event: saveEvent(updateFields: ["caf\u{E9}"], fields: record), .runs(object(("product_id", 7)))),
        RuleCase(
            "non-ASCII name without a match skips", rule: watchPrice,
            event: saveEvent(updateFields: ["pr\u{EF}ce"], fields: record), .skipped(.watchFields)),
        RuleCase(
            "watched field past the 64th runs", rule: product + #", "watch_fields": [\#(manyFields)]"#,
            event: saveEvent(updateFields: ["field69"], fields: record), .runs(object(("product_id", 7)))),
        RuleCase(
            "unwatched field with 70 watched skips", rule: product + #", "watch_fields": [\#(manyFields)]"#,
            event: saveEvent(updateFields: ["field70"], fields: record), .skipped(.watchFields)),
    ]

    /// Seventy watched names, more than the 64 that get a bit of their own.
    static let manyFields = (0..<70).map { "\"field\($0)\"" }.joined(separator: ", ")

    @Test(arguments: saveCases)
    func createsAndWatchedFields(row: RuleCase) throws {
        try Self.check(row)
    }

    // MARK: - invalidate_when

    static func when(_ conditions: String) -> String {
        product + #", "require_args": false, "invalidate_when": \#(conditions)"#
    }

    static let runs = RuleOutcome.runs(object(("product_id", nil)))

    static let conditionCases: [RuleCase] = [
        RuleCase("equal value runs", rule: when(#"{"status": "live"}"#), event: saveEvent(fields: object(("status", "live"))), runs),
        RuleCase(
            "different value skips", rule: when(#"{"status": "live"}"#), event: saveEvent(fields: object(("status", "draft"))),
            .skipped(.condition)),
        RuleCase(
            "negated equal value skips", rule: when(#"{"!status": "draft"}"#),
            event: saveEvent(fields: object(("status", "draft"))), .skipped(.condition)),
        RuleCase(
            "negated different value runs", rule: when(#"{"!status": "draft"}"#),
            event: saveEvent(fields: object(("status", "live"))), runs),
        RuleCase(
            "null expected matches null", rule: when(#"{"deleted_at": null}"#),
            event: saveEvent(fields: object(("deleted_at", nil))), runs),
        RuleCase(
            "null expected rejects a value", rule: when(#"{"deleted_at": null}"#),
            event: saveEvent(fields: object(("deleted_at", "2024-01-01"))), .skipped(.condition)),
        RuleCase(
            "negated null accepts a value", rule: when(#"{"!deleted_at": null}"#),
            event: saveEvent(fields: object(("deleted_at", "2024-01-01"))), runs),
        RuleCase(
            "negated null rejects null", rule: when(#"{"!deleted_at": null}"#),
            event: saveEvent(fields: object(("deleted_at", nil))), .skipped(.condition)),
        RuleCase(
            "missing attribute is not null", rule: when(#"{"deleted_at": null}"#), event: saveEvent(),
            .skipped(.condition)),
        RuleCase("missing attribute is not any value", rule: when(#"{"status": "live"}"#), event: saveEvent(), .skipped(.condition)),
        RuleCase("negated null on a missing attribute runs", rule: when(#"{"!deleted_at": null}"#), event: saveEvent(), runs),
        RuleCase("negated value on a missing attribute runs", rule: when(#"{"!status": "draft"}"#), event: saveEvent(), runs),
        RuleCase("integer matches equal float", rule: when(#"{"n": 1}"#), event: saveEvent(fields: object(("n", 1.0))), runs),
        RuleCase("float matches equal integer", rule: when(#"{"n": 1.0}"#), event: saveEvent(fields: object(("n", 1))), runs),
        RuleCase(
            "integer does not match other float", rule: when(#"{"n": 1}"#), event: saveEvent(fields: object(("n", 1.5))),
            .skipped(.condition)),
        RuleCase(
            "true does not match 1", rule: when(#"{"flag": true}"#), event: saveEvent(fields: object(("flag", 1))),
            .skipped(.condition)),
        RuleCase(
            "1 does not match true", rule: when(#"{"n": 1}"#), event: saveEvent(fields: object(("n", true))),
            .skipped(.condition)),
        RuleCase(
            "false does not match 0", rule: when(#"{"flag": false}"#), event: saveEvent(fields: object(("flag", 0))),
            .skipped(.condition)),
        RuleCase("negated true runs on 1", rule: when(#"{"!flag": true}"#), event: saveEvent(fields: object(("flag", 1))), runs),
        RuleCase("true matches true", rule: when(#"{"flag": true}"#), event: saveEvent(fields: object(("flag", true))), runs),
        RuleCase(
            "strings compare exactly", rule: when(#"{"status": "Live"}"#), event: saveEvent(fields: object(("status", "live"))),
            .skipped(.condition)),
        RuleCase(
            "string does not match number", rule: when(#"{"n": "1"}"#), event: saveEvent(fields: object(("n", 1))),
            .skipped(.condition)),
        RuleCase(
            "dotted key reads nested value", rule: when(#"{"team.id": 3}"#),
            event: saveEvent(fields: object(("team", .object(object(("id", 3)))))), runs),
        RuleCase(
            "dotted key through null is missing", rule: when(#"{"team.id": null}"#),
            event: saveEvent(fields: object(("team", nil))), .skipped(.condition)),
        RuleCase(
            "negated dotted key through null runs", rule: when(#"{"!team.id": 3}"#),
            event: saveEvent(fields: object(("team", nil))), runs),
        RuleCase("pk condition reads the event pk", rule: when(#"{"pk": 9}"#), event: saveEvent(pk: 9), runs),
        RuleCase(
            "all conditions must hold", rule: when(#"{"status": "live", "n": 2}"#),
            event: saveEvent(fields: object(("status", "live"), ("n", 3))), .skipped(.condition)),
        RuleCase(
            "all conditions holding runs", rule: when(#"{"status": "live", "n": 2}"#),
            event: saveEvent(fields: object(("status", "live"), ("n", 2.0))), runs),
        RuleCase(
            "list value compares item by item", rule: when(#"{"tags": ["a", 1]}"#),
            event: saveEvent(fields: object(("tags", .array(["a", 1.0])))), runs),
    ]

    @Test(arguments: conditionCases)
    func invalidateWhen(row: RuleCase) throws {
        try Self.check(row)
    }

    static let combinedCases: [RuleCase] = [
        RuleCase(
            "watched field and matching condition run",
            rule: watchPrice + #", "invalidate_when": {"status": "live"}"#,
            event: saveEvent(updateFields: ["price"], fields: object(("id", 7), ("status", "live"))),
            .runs(object(("product_id", 7)))),
        RuleCase(
            "watched field but failing condition skips",
            rule: watchPrice + #", "invalidate_when": {"status": "live"}"#,
            event: saveEvent(updateFields: ["price"], fields: object(("id", 7), ("status", "draft"))), .skipped(.condition)),
        RuleCase(
            "matching condition but no watched field skips",
            rule: watchPrice + #", "invalidate_when": {"status": "live"}"#,
            event: saveEvent(updateFields: ["name"], fields: object(("id", 7), ("status", "live"))), .skipped(.watchFields)),
        RuleCase(
            "full save still checks the condition",
            rule: watchPrice + #", "invalidate_when": {"status": "live"}"#,
            event: saveEvent(updateFields: nil, fields: object(("id", 7), ("status", "draft"))), .skipped(.condition)),
        RuleCase(
            "condition is checked before require_args",
            rule: product + #", "invalidate_when": {"status": "live"}"#,
            event: saveEvent(fields: object(("status", "draft"))), .skipped(.condition)),
        RuleCase(
            "create check comes first", rule: product + #", "invalidate_when": {"status": "live"}"#,
            event: saveEvent(created: true, fields: object(("status", "draft"))), .skipped(.created)),
    ]

    @Test(arguments: combinedCases)
    func conditionsTogetherWithWatchFields(row: RuleCase) throws {
        try Self.check(row)
    }

    // MARK: - Invalidator rules

    @Test func invalidatorRuleReceivesTheWholeEvent() throws {
        let evaluator = try Self.evaluator(for: #""invalidator": "drop_all""#)
        let event = saveEvent(pk: 3, updateFields: ["price"], fields: object(("id", 3)))
        let arguments = try evaluator.arguments(forRule: 0, event: event).get()
        #expect(arguments == event.json.objectValue)
        #expect(arguments.keys == ["model", "pk", "signal", "created", "update_fields", "fields"])
    }

    @Test func invalidatorRuleStillHonoursWatchFields() throws {
        let evaluator = try Self.evaluator(for: #""invalidator": "drop_all", "watch_fields": ["price"]"#)
        let result = evaluator.arguments(forRule: 0, event: saveEvent(updateFields: ["name"]))
        #expect(result == .failure(RuleEvaluator.SkipReason(.watchFields)))
    }

    // MARK: - Models

    @Test func eventOfAnotherModelPlansNothing() throws {
        let evaluator = try Self.evaluator(for: Self.product)
        #expect(evaluator.plan(saveEvent(fields: Self.record, model: "shop.Order")).isEmpty)
    }

    @Test func modelLabelsCompareExactly() throws {
        let evaluator = try Self.evaluator(for: Self.product)
        #expect(evaluator.plan(saveEvent(fields: Self.record, model: "shop.product")).isEmpty)
    }

    // MARK: - Rules that map the same fields

    /// Rules whose arguments resolve alike share one resolution per event.
    /// Each must still get what it would get on its own, also when the
    /// first of them was skipped.
    @Test func rulesMappingTheSameFieldsEachGetTheirOwnOutcome() throws {
        let rules = try compileRules(
            """
            {"functions": [{"name": "f", "rules": [
              {"id": "watch-skip", "model": "m.M", "field_mapping": {"a": "id"}, "watch_fields": ["price"]},
              {"id": "id-1", "model": "m.M", "field_mapping": {"a": "id"}},
              {"id": "id-2", "model": "m.M", "field_mapping": {"a": "id"}, "invalidate_when": {"status": "gone"}},
              {"id": "id-3", "model": "m.M", "field_mapping": {"a": "id"}},
              {"id": "other-name", "model": "m.M", "field_mapping": {"b": "id"}},
              {"id": "owner-required", "model": "m.M", "field_mapping": {"a": "owner"}},
              {"id": "owner-optional", "model": "m.M", "field_mapping": {"a": "owner"}, "require_args": false},
              {"id": "owner-required-2", "model": "m.M", "field_mapping": {"a": "owner"}},
              {"id": "invalidator", "model": "m.M", "invalidator": "drop_all"}
            ]}]}
            """)
        let event = saveEvent(updateFields: ["name"], fields: object(("id", 4), ("owner", nil)), model: "m.M")
        let plan = RuleEvaluator(rules: rules).plan(event)
        let ids = plan.flatMap { $0.ruleIndices.map { rules.rules[$0].id } }
        #expect(ids == ["id-1", "id-3", "other-name", "owner-optional", "invalidator"])
        let arguments = plan.flatMap(\.arguments)
        #expect(arguments.count == 5)
        #expect(Array(arguments.prefix(4)) == [object(("a", 4)), object(("a", 4)), object(("b", 4)), object(("a", nil))])
        #expect(arguments.last == event.json.objectValue)
    }

    /// Rules with the same conditions check them once per event. Strings
    /// that Swift compares as equal but evaluation keeps apart (NFC and NFD
    /// spellings) must not share a check or an argument object.
    @Test func sharedChecksKeepCanonicallyEquivalentSpellingsApart() throws {
        let rules = try compileRules(
            #"""
            {"functions": [{"name": "f", "rules": [
              {"id": "nfc", "model": "m.M", "field_mapping": {"\u00e9": "id"}, "invalidate_when": {"name": "\u00e9"}},
              {"id": "nfd", "model": "m.M", "field_mapping": {"e\u0301": "id"}, "invalidate_when": {"name": "e\u0301"}},
              {"id": "nfc-again", "model": "m.M", "field_mapping": {"e\u0301": "id"}, "invalidate_when": {"name": "\u00e9"}},
              {"id": "not-nfc", "model": "m.M", "field_mapping": {"\u00e9": "id"}, "invalidate_when": {"!name": "\u00e9"}},
              {"id": "not-nfc-again", "model": "m.M", "invalidate_when": {"!name": "\u00e9"}}
            ]}]}
            """#)
        let evaluator = RuleEvaluator(rules: rules)
        let precomposed = saveEvent(fields: object(("id", 3), ("name", "\u{e9}")), model: "m.M")
        let plan = evaluator.plan(precomposed)
        #expect(plan.flatMap { $0.ruleIndices.map { rules.rules[$0].id } } == ["nfc", "nfc-again"])
        let keys = plan.flatMap { $0.arguments.map { $0.members.map { Array($0.key.utf8) } } }
        #expect(keys == [[[0xC3, 0xA9]], [[0x65, 0xCC, 0x81]]])

        let decomposed = saveEvent(fields: object(("id", 3), ("name", "e\u{301}")), model: "m.M")
        let ids = evaluator.plan(decomposed).flatMap { $0.ruleIndices.map { rules.rules[$0].id } }
        #expect(ids == ["nfd", "not-nfc", "not-nfc-again"])
    }
}
