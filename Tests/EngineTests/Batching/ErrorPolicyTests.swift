import Testing

@testable import Engine

/// One error-policy row: the rule's, the dispatcher's and the global setting.
struct PolicyCase: Sendable, CustomTestStringConvertible {
    var rule: Bool?
    var dispatcher: Bool?
    var global: Bool
    var expected: Bool

    var testDescription: String {
        "rule \(rule.map(String.init) ?? "unset"), dispatcher \(dispatcher.map(String.init) ?? "unset"), global \(global)"
    }
}

@Suite struct ErrorPolicyTests {
    /// Every combination: the first setting that is set wins.
    static let cases: [PolicyCase] = {
        var rows: [PolicyCase] = []
        for rule in [nil, true, false] as [Bool?] {
            for dispatcher in [nil, true, false] as [Bool?] {
                for global in [true, false] {
                    rows.append(PolicyCase(rule: rule, dispatcher: dispatcher, global: global, expected: rule ?? dispatcher ?? global))
                }
            }
        }
        return rows
    }()

    @Test(arguments: cases)
    func ruleThenDispatcherThenGlobal(row: PolicyCase) {
        #expect(ErrorPolicy.resolve(rule: row.rule, dispatcher: row.dispatcher, global: row.global) == row.expected)
    }

    @Test func ruleFalseBeatsDispatcherTrue() {
        #expect(!ErrorPolicy.resolve(rule: false, dispatcher: true, global: true))
    }

    @Test func dispatcherFalseBeatsGlobalTrue() {
        #expect(!ErrorPolicy.resolve(rule: nil, dispatcher: false, global: true))
    }

    // MARK: - Batches

    @Test func batchRaisesWhenAnyRuleResolvesTrue() {
        #expect(ErrorPolicy.resolveBatch(rules: [false, true, nil], dispatcher: false, global: false))
    }

    @Test func unsetRuleTakesTheDispatcherTrueInAMixedBatch() {
        #expect(ErrorPolicy.resolveBatch(rules: [false, nil], dispatcher: true, global: false))
    }

    @Test func explicitFalseEverywhereDoesNotRaise() {
        #expect(!ErrorPolicy.resolveBatch(rules: [false, false], dispatcher: true, global: true))
    }

    @Test func unsetRulesFallToTheGlobalSetting() {
        #expect(ErrorPolicy.resolveBatch(rules: [nil, nil], dispatcher: nil, global: true))
        #expect(!ErrorPolicy.resolveBatch(rules: [nil, nil], dispatcher: nil, global: false))
    }

    // MARK: - Resolved on batches by the engine

    /// Two batching rules on `recording`, with the given `raise_exception`
    /// members, the settings block and the global setting.
    static func document(first: String, second: String, block: String, global: Bool) -> String {
        """
        {"settings": {"raise_exception": \(global), "dispatchers": {"recording": \(block)}},
         "functions": [{"name": "f", "rules": [
           {"id": "one", "model": "shop.Product", "dispatcher": "recording", "batch": true\(first)},
           {"id": "two", "model": "shop.Product", "dispatcher": "recording", "batch": true\(second)}
         ]}]}
        """
    }

    @Test(arguments: [
        ("", "", "{}", false, false),
        ("", "", "{}", true, true),
        ("", "", #"{"RAISE_EXCEPTION": true}"#, false, true),
        ("", "", #"{"RAISE_EXCEPTION": false}"#, true, false),
        (#", "raise_exception": false"#, "", #"{"RAISE_EXCEPTION": true}"#, false, true),
        (#", "raise_exception": false"#, #", "raise_exception": false"#, #"{"RAISE_EXCEPTION": true}"#, true, false),
        (#", "raise_exception": true"#, #", "raise_exception": false"#, "{}", false, true),
        (#", "raise_exception": null"#, "", "{}", true, true),
    ])
    func engineResolvesTheBatchPolicy(first: String, second: String, block: String, global: Bool, expected: Bool) throws {
        let harness = try EngineHarness(Self.document(first: first, second: second, block: block, global: global))
        harness.engine.process(saveEvent())
        #expect(harness.log.ruleIDGroups == [["one", "two"]])
        #expect(harness.log.all.first?.raiseException == expected)
    }

    @Test func inlineFailureWithRaiseIsReturnedFromProcess() throws {
        let document = singleRuleDocument(
            #""id": "r", "model": "shop.Product", "invalidator": "fails", "raise_exception": true"#)
        let harness = try EngineHarness(document, invalidators: InvalidatorRegistry(["fails": FailingInvalidator()]))
        let result = harness.engine.process(saveEvent())
        #expect(result.raised.count == 1)
        #expect(result.raised.first?.kind == .invalidator)
        #expect(result.raised.first?.ruleID == "r")
        #expect(result.raised.first?.message == "invalidator 'fails' failed: the search index is read-only")
    }

    @Test func inlineFailureWithoutRaiseIsOnlyRecorded() throws {
        let journal = try TemporaryJournal()
        defer { journal.directory.remove() }
        let document = singleRuleDocument(#""id": "r", "model": "shop.Product", "invalidator": "fails""#)
        let harness = try EngineHarness(
            document, journal: journal.journal, invalidators: InvalidatorRegistry(["fails": FailingInvalidator()]))
        let result = harness.engine.process(saveEvent())
        #expect(result.raised.isEmpty)
        #expect(harness.finished.all.map(\.outcome.label) == ["failed"])
        #expect(journal.journal.listing().open == 1)
        #expect(harness.records("Batch failed").count == 1)
    }

    @Test func mixedBatchWithOneRaisingRuleIsRaised() throws {
        let document = """
            {"functions": [{"name": "f", "rules": [
              {"id": "quiet", "model": "shop.Product", "dispatcher": "recording", "batch": true,
               "invalidator": "fails", "raise_exception": false},
              {"id": "loud", "model": "shop.Product", "dispatcher": "recording", "batch": true,
               "invalidator": "fails", "raise_exception": true}
            ]}]}
            """
        let harness = try EngineHarness(document, invalidators: InvalidatorRegistry(["fails": FailingInvalidator()]))
        let result = harness.engine.process(saveEvent())
        #expect(harness.log.ruleIDGroups == [["quiet", "loud"]])
        #expect(result.raised.map(\.ruleID) == ["quiet"])
    }

    @Test func threadpoolFailureIsNeverRaisedToTheCaller() async throws {
        let document = singleRuleDocument(
            #""model": "shop.Product", "dispatcher": "threadpool", "invalidator": "fails", "raise_exception": true"#)
        let harness = try EngineHarness(document, invalidators: InvalidatorRegistry(["fails": FailingInvalidator()]))
        let result = harness.engine.process(saveEvent())
        #expect(await harness.settle())
        #expect(result.raised.isEmpty)
        #expect(harness.finished.all.map(\.outcome.label) == ["failed"])
    }
}
