import Testing

@testable import Engine

/// How one event's rules group into dispatch calls.
@Suite struct RuleBatchingTests {
    /// Rules of `shop.Product` on several dispatchers. `tp-watch` only runs
    /// when `price` may have changed and `never` never runs.
    static let document = """
        {"functions": [
          {"name": "shop.views.detail", "rules": [
            {"id": "tp-watch", "model": "shop.Product", "dispatcher": "threadpool", "batch": true,
             "watch_fields": ["price"]},
            {"id": "inline", "model": "shop.Product"},
            {"id": "rec-a1", "model": "shop.Product", "dispatcher": "recording", "batch": true,
             "dispatcher_config": {"lane": "a"}},
            {"id": "tp-2", "model": "shop.Product", "dispatcher": "threadpool", "batch": true,
             "dispatcher_config": {"max_workers": 2}},
            {"id": "tp-alone", "model": "shop.Product", "dispatcher": "threadpool", "batch": false}
          ]},
          {"name": "shop.views.list", "rules": [
            {"id": "rec-a2", "model": "shop.Product", "dispatcher": "recording", "batch": true,
             "dispatcher_config": {"lane": "a"}},
            {"id": "never", "model": "shop.Product", "dispatcher": "recording", "batch": true,
             "dispatcher_config": {"lane": "a"}, "invalidate_when": {"status": "gone"}},
            {"id": "tp", "model": "shop.Product", "dispatcher": "threadpool", "batch": true},
            {"id": "async", "model": "shop.Product", "dispatcher": "asyncio", "batch": true},
            {"id": "rec-solo", "model": "shop.Product", "dispatcher": "recording", "batch": true,
             "dispatcher_config": {"batching": false}},
            {"id": "other-model", "model": "shop.Order", "dispatcher": "threadpool", "batch": true}
          ]}
        ]}
        """

    static func plan(_ event: ChangeEvent) throws -> [RuleEvaluator.PlannedDispatch] {
        let rules = try compileRules(document, registry: registryWithRecording(DispatchLog()))
        return RuleEvaluator(rules: rules).plan(event)
    }

    static func groups(_ plan: [RuleEvaluator.PlannedDispatch], _ rules: RuleSet) -> [[String]] {
        plan.map { $0.ruleIndices.map { rules.rules[$0].id } }
    }

    static func groups(for event: ChangeEvent) throws -> [[String]] {
        let rules = try compileRules(document, registry: registryWithRecording(DispatchLog()))
        return groups(RuleEvaluator(rules: rules).plan(event), rules)
    }

    @Test func standaloneRulesComeFirstThenGroupsByFirstAppearance() throws {
        let groups = try Self.groups(for: saveEvent(updateFields: nil))
        #expect(groups == [["inline"], ["tp-alone"], ["async"], ["rec-solo"], ["tp-watch", "tp"], ["rec-a1", "rec-a2"], ["tp-2"]])
    }

    @Test func groupOrderFollowsTheRulesThatRunForThisEvent() throws {
        // tp-watch is skipped, so the plain threadpool group first appears with tp, after tp-2.
        let groups = try Self.groups(for: saveEvent(updateFields: ["name"]))
        #expect(groups == [["inline"], ["tp-alone"], ["async"], ["rec-solo"], ["rec-a1", "rec-a2"], ["tp-2"], ["tp"]])
    }

    @Test func plannedDispatcherMatchesItsGroup() throws {
        let plan = try Self.plan(saveEvent(updateFields: nil))
        #expect(plan.map(\.dispatcher.name) == ["inline", "threadpool", "asyncio", "recording", "threadpool", "recording", "threadpool"])
        #expect(plan.map(\.arguments.count) == plan.map(\.ruleIndices.count))
    }

    @Test func batchKeysSeparateGroupsOfOneDispatcher() throws {
        let plan = try Self.plan(saveEvent(updateFields: nil))
        let threadpoolKeys = plan.filter { $0.dispatcher.name == "threadpool" }.map(\.dispatcher.batchKey)
        #expect(threadpoolKeys == ["threadpool", "threadpool", "threadpool|max_workers=2"])
    }

    @Test func otherModelsRulesStayOut() throws {
        let groups = try Self.groups(for: saveEvent(updateFields: nil, model: "shop.Order"))
        #expect(groups == [["other-model"]])
    }

    @Test func batchFalseOnABatchingDispatcherRunsAlone() throws {
        let rules = try compileRules(
            """
            {"functions": [{"name": "f", "rules": [
              {"id": "a", "model": "m.M", "dispatcher": "threadpool"},
              {"id": "b", "model": "m.M", "dispatcher": "threadpool"}
            ]}]}
            """)
        let plan = RuleEvaluator(rules: rules).plan(saveEvent(model: "m.M"))
        #expect(Self.groups(plan, rules) == [["a"], ["b"]])
    }
}
