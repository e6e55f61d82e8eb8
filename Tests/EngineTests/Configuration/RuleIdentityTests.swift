import Testing

@testable import Engine

/// Stable rule ids, restflow's numeric ids, and duplicates of either.
@Suite struct RuleIdentityTests {
    static let productRule = #"{"model": "shop.Product", "field_mapping": {"product_id": "id"}}"#
    static let orderRule = #"{"model": "shop.Order", "field_mapping": {"order_id": "id"}, "batch": true}"#

    static func document(_ functions: [(name: String, rules: [String])]) -> String {
        let entries = functions.map { function in
            #"{"name": "\#(function.name)", "rules": [\#(function.rules.joined(separator: ", "))]}"#
        }
        return "{\"functions\": [\n" + entries.joined(separator: ",\n") + "\n]}"
    }

    static func ids(_ functions: [(name: String, rules: [String])]) throws -> [String: String] {
        let configuration = try loadConfiguration(document(functions))
        var byPath: [String: String] = [:]
        for rule in configuration.rules {
            byPath["\(rule.functionName) \(rule.model)"] = rule.id
        }
        return byPath
    }

    // MARK: - Derived ids

    @Test func derivedIDIsFunctionNameAndFingerprint() throws {
        let configuration = try loadConfiguration(Self.document([("shop.views.detail", [Self.productRule])]))
        let rule = try #require(configuration.rules.first)
        #expect(rule.id == "shop.views.detail#" + rule.fingerprint.prefix(8))
        #expect(rule.fingerprint.count == 16)
        #expect(rule.fingerprint.allSatisfy { $0.isHexDigit })
    }

    @Test func derivedIDSurvivesReorderingFunctions() throws {
        let forward = try Self.ids([("shop.views.detail", [Self.productRule]), ("shop.views.orders", [Self.orderRule])])
        let reversed = try Self.ids([("shop.views.orders", [Self.orderRule]), ("shop.views.detail", [Self.productRule])])
        #expect(forward == reversed)
        #expect(forward.count == 2)
    }

    @Test func derivedIDSurvivesReorderingRules() throws {
        let forward = try Self.ids([("shop.views.mixed", [Self.productRule, Self.orderRule])])
        let reversed = try Self.ids([("shop.views.mixed", [Self.orderRule, Self.productRule])])
        #expect(forward == reversed)
    }

    @Test func derivedIDSurvivesReorderingMembers() throws {
        let reordered = #"{"field_mapping": {"product_id": "id"}, "model": "shop.Product"}"#
        let first = try Self.ids([("shop.views.detail", [Self.productRule])])
        let second = try Self.ids([("shop.views.detail", [reordered])])
        #expect(first == second)
    }

    @Test func derivedIDIgnoresTheDescription() throws {
        let described = #"{"model": "shop.Product", "field_mapping": {"product_id": "id"}, "description": "why"}"#
        let first = try Self.ids([("shop.views.detail", [Self.productRule])])
        let second = try Self.ids([("shop.views.detail", [described])])
        #expect(first == second)
    }

    @Test(arguments: [
        #"{"model": "shop.Product", "field_mapping": {"product_id": "pk"}}"#,
        #"{"model": "shop.Product", "field_mapping": {"id": "id"}}"#,
        #"{"model": "shop.Item", "field_mapping": {"product_id": "id"}}"#,
        #"{"model": "shop.Product", "field_mapping": {"product_id": "id"}, "batch": true}"#,
        #"{"model": "shop.Product", "field_mapping": {"product_id": "id"}, "watch_fields": ["price"]}"#,
        #"{"model": "shop.Product", "field_mapping": {"product_id": "id"}, "invalidate_when": {"a": 1}}"#,
        #"{"model": "shop.Product", "field_mapping": {"product_id": "id"}, "invalidate_when": {"a": 1.0}}"#,
    ])
    func derivedIDChangesWithContent(changed: String) throws {
        let original = try Self.ids([("shop.views.detail", [Self.productRule])])
        let modified = try Self.ids([("shop.views.detail", [changed])])
        #expect(original.values.first != modified.values.first)
    }

    @Test func derivedIDChangesWithTheFunctionName() throws {
        let first = try loadConfiguration(Self.document([("shop.views.a", [Self.productRule])]))
        let second = try loadConfiguration(Self.document([("shop.views.b", [Self.productRule])]))
        #expect(first.rules.first?.fingerprint != second.rules.first?.fingerprint)
    }

    @Test func declaredIDIsKept() throws {
        let rule = #"{"id": "product-detail", "model": "shop.Product", "field_mapping": {"product_id": "id"}}"#
        let configuration = try loadConfiguration(Self.document([("shop.views.detail", [rule])]))
        #expect(configuration.rules.first?.id == "product-detail")
    }

    @Test func declaredIDDoesNotChangeTheFingerprint() throws {
        let rule = #"{"id": "product-detail", "model": "shop.Product", "field_mapping": {"product_id": "id"}}"#
        let declared = try loadConfiguration(Self.document([("shop.views.detail", [rule])]))
        let derived = try loadConfiguration(Self.document([("shop.views.detail", [Self.productRule])]))
        #expect(declared.rules.first?.fingerprint == derived.rules.first?.fingerprint)
    }

    // MARK: - Duplicates

    @Test func duplicateDeclaredIDIsRejected() {
        let first = #"{"id": "same", "model": "shop.A"}"#
        let second = #"{"id": "same", "model": "shop.B"}"#
        let error = configurationError(Self.document([("f", [first]), ("g", [second])]))
        #expect(error?.path == "functions[1].rules[0].id")
        #expect(error?.message == "the rule id 'same' is already used by functions[0].rules[0]")
        #expect(error?.line == 3)
    }

    @Test func identicalRulesDeriveTheSameIDAndAreRejected() {
        let error = configurationError(Self.document([("f", [Self.productRule, Self.productRule])]))
        #expect(error?.path == "functions[0].rules[1].id")
        #expect(error?.message.hasPrefix("the rule id 'f#") == true)
        #expect(error?.message.hasSuffix("' is already used by functions[0].rules[0]") == true)
        #expect(error?.line == 2)
    }

    @Test func identicalRulesOfDifferentFunctionsAreDistinct() throws {
        let configuration = try loadConfiguration(Self.document([("f", [Self.productRule]), ("g", [Self.productRule])]))
        #expect(configuration.rules.count == 2)
        #expect(configuration.rules[0].id != configuration.rules[1].id)
    }

    // MARK: - restflow ids

    @Test func restflowIDsNumberRulesInRegistrationOrder() throws {
        let configuration = try loadConfiguration(
            Self.document([
                ("f", [Self.productRule, Self.orderRule]),
                ("g", [#"{"model": "shop.C"}"#]),
                ("h", []),
                ("i", [#"{"model": "shop.D"}"#, #"{"model": "shop.E"}"#]),
            ]))
        #expect(configuration.rules.map(\.restflowID) == [1, 2, 3, 4, 5])
        #expect(configuration.rules.map(\.model) == ["shop.Product", "shop.Order", "shop.C", "shop.D", "shop.E"])
        #expect(configuration.rules.map(\.functionIndex) == [0, 0, 1, 3, 3])
    }

    @Test func declaredRestflowIDIsKept() throws {
        let configuration = try loadConfiguration(
            Self.document([("f", [#"{"model": "shop.A", "restflow_id": 7}"#, #"{"model": "shop.B"}"#])]))
        #expect(configuration.rules.map(\.restflowID) == [7, 2])
    }

    @Test func duplicateRestflowIDIsRejected() {
        let error = configurationError(
            Self.document([("f", [#"{"model": "shop.A", "restflow_id": 2}"#, #"{"model": "shop.B"}"#])]))
        #expect(error?.path == "functions[0].rules[1].restflow_id")
        #expect(error?.message == "restflow id 2 is already used by functions[0].rules[0]")
        #expect(error?.line == 2)
    }
}
