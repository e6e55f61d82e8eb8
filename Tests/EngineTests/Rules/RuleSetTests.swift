import Testing

@testable import Engine

/// Checks made when a configuration is compiled against a dispatcher registry.
@Suite struct RuleSetTests {
    static let registeredList = "asyncio, inline, threadpool"

    // MARK: - Dispatcher names

    @Test func unknownRuleDispatcherNamesPathLineAndNames() {
        let error = compileError(singleRuleDocument(#""model": "a.B", "dispatcher": "celry""#))
        #expect(error?.path == "functions[0].rules[0].dispatcher")
        #expect(error?.line == 7)
        #expect(
            error?.message
                == "unknown dispatcher 'celry'. Registered dispatchers: \(Self.registeredList). "
                + "Use one of these names; a custom dispatcher is a Swift type registered under its name in code, "
                + "before the configuration is loaded")
    }

    @Test func unknownDefaultDispatcherPointsAtTheSetting() {
        let error = compileError(singleRuleDocument(#""model": "a.B""#, settings: #"{"default_dispatcher": "nope"}"#))
        #expect(error?.path == "settings.default_dispatcher")
        #expect(error?.line == 2)
        #expect(error?.message.hasPrefix("unknown dispatcher 'nope'. Registered dispatchers: ") == true)
    }

    @Test func unknownDefaultDispatcherNoRuleUses() {
        let document = singleRuleDocument(#""model": "a.B", "dispatcher": "inline""#, settings: #"{"default_dispatcher": "inlne"}"#)
        let error = compileError(document)
        #expect(error?.path == "settings.default_dispatcher")
        #expect(error?.message.hasPrefix("unknown dispatcher 'inlne' (did you mean 'inline'?)") == true, "\(String(describing: error))")
    }

    @Test func settingsForAnUnknownDispatcherAreRejected() {
        let settings = #"{"dispatchers": {"threadpol": {}}}"#
        let error = compileError(singleRuleDocument(#""model": "a.B""#, settings: settings))
        #expect(error?.path == "settings.dispatchers.threadpol")
        #expect(error?.line == 2)
        #expect(error?.message == "settings for the unknown dispatcher 'threadpol'")
        #expect(error?.fix == "Did you mean 'threadpool'? Registered dispatchers: \(Self.registeredList).")
    }

    @Test func customDispatcherNameIsAccepted() throws {
        let log = DispatchLog()
        let rules = try compileRules(
            singleRuleDocument(#""model": "a.B", "dispatcher": "recording""#), registry: registryWithRecording(log))
        #expect(rules.dispatchers.first?.name == "recording")
        #expect(rules.registeredDispatcherNames == ["asyncio", "inline", "recording", "threadpool"])
    }

    // MARK: - Dispatcher options

    @Test(arguments: [
        ("0", "0"), ("-1", "-1"), (#""4""#, #""4""#), ("4.5", "4.5"), ("4.0", "4.0"), ("1025", "1025"),
        ("true", "true"), ("[4]", "[4]"),
    ])
    func badMaxWorkersInRuleConfigIsRejected(value: String, shown: String) {
        let rule = #""model": "a.B", "dispatcher": "threadpool", "dispatcher_config": {"max_workers": \#(value)}"#
        let error = compileError(singleRuleDocument(rule))
        #expect(error?.path == "functions[0].rules[0].dispatcher_config.max_workers")
        #expect(error?.line == 7)
        #expect(error?.message == "threadpool option 'max_workers' is \(shown); expected a positive integer (1 to 1024)")
    }

    @Test func badMaxWorkersInSettingsBlockIsRejected() {
        let settings = "{\"dispatchers\": {\"threadpool\": {\n\"max_workers\": 0}}}"
        let error = compileError(singleRuleDocument(#""model": "a.B""#, settings: settings))
        #expect(error?.path == "settings.dispatchers.threadpool.max_workers")
        #expect(error?.line == 3)
        #expect(error?.message == "threadpool option 'max_workers' is 0; expected a positive integer (1 to 1024)")
    }

    @Test func badUppercaseSettingGivesItsOwnLine() {
        let settings = "{\"dispatchers\": {\"threadpool\": {\n\"MAX_WORKERS\": -1}}}"
        let error = compileError(singleRuleDocument(#""model": "a.B""#, settings: settings))
        #expect(error?.message == "threadpool option 'max_workers' is -1; expected a positive integer (1 to 1024)")
        #expect(error?.line == 3)
    }

    @Test func unknownOptionKeyIsRejectedWithSuggestion() {
        let rule = #""model": "a.B", "dispatcher": "threadpool", "dispatcher_config": {"max_worker": 2}"#
        let error = compileError(singleRuleDocument(rule))
        #expect(error?.path == "functions[0].rules[0].dispatcher_config.max_worker")
        #expect(error?.line == 7)
        #expect(
            error?.message
                == "threadpool has no option 'max_worker'; did you mean 'max_workers'? known options: max_workers, raise_exception")
    }

    @Test func uppercaseKeyInRuleConfigIsRejected() {
        let rule = #""model": "a.B", "dispatcher": "threadpool", "dispatcher_config": {"MAX_WORKERS": 2}"#
        let error = compileError(singleRuleDocument(rule))
        #expect(error?.path == "functions[0].rules[0].dispatcher_config.MAX_WORKERS")
        #expect(
            error?.message
                == "threadpool has no option 'MAX_WORKERS'; did you mean 'max_workers'? known options: max_workers, raise_exception")
    }

    @Test func inlineTakesNoOptions() {
        let rule = #""model": "a.B", "dispatcher_config": {"queue": "x"}"#
        let error = compileError(singleRuleDocument(rule))
        #expect(error?.path == "functions[0].rules[0].dispatcher_config.queue")
        #expect(error?.message == "inline has no option 'queue'; known options: raise_exception")
    }

    @Test func badRaiseExceptionOptionIsRejected() {
        let rule = #""model": "a.B", "dispatcher": "asyncio", "dispatcher_config": {"raise_exception": "yes"}"#
        let error = compileError(singleRuleDocument(rule))
        #expect(error?.path == "functions[0].rules[0].dispatcher_config.raise_exception")
        #expect(error?.message == #"asyncio option 'raise_exception' is "yes"; expected true, false or null"#)
    }

    @Test func ruleConfigWinsOverTheSettingsBlock() throws {
        let settings = #"{"dispatchers": {"threadpool": {"MAX_WORKERS": 8, "RAISE_EXCEPTION": true}}}"#
        let rule = #""model": "a.B", "dispatcher": "threadpool", "dispatcher_config": {"max_workers": 2}"#
        let rules = try compileRules(singleRuleDocument(rule, settings: settings))
        let dispatcher = try #require(rules.dispatchers.first as? ThreadPoolDispatcher)
        #expect(dispatcher.maxWorkers == 2)
        #expect(dispatcher.raiseException == true)
        #expect(dispatcher.resolvedOptions["max_workers"] == .int(2))
    }

    @Test func dispatcherByNameUsesTheSettingsBlockAlone() throws {
        let settings = #"{"dispatchers": {"threadpool": {"max_workers": 8}}}"#
        let rule = #""model": "a.B", "dispatcher": "threadpool", "dispatcher_config": {"max_workers": 2}"#
        let rules = try compileRules(singleRuleDocument(rule, settings: settings))
        let byName = try #require(rules.dispatchersByName["threadpool"] as? ThreadPoolDispatcher)
        #expect(byName.maxWorkers == 8)
        #expect(rules.dispatchersByName.keys.sorted() == ["asyncio", "inline", "threadpool"])
    }

    // MARK: - Invalidators and recomputers

    @Test func unknownInvalidatorIsRejected() {
        let error = compileError(singleRuleDocument(#""model": "a.B", "invalidator": "drop_some""#))
        #expect(error?.path == "functions[0].rules[0].invalidator")
        #expect(error?.line == 7)
        #expect(error?.message == "unknown invalidator 'drop_some'")
        #expect(error?.fix == "Known invalidators: drop_all, drop_matching_fields.")
    }

    @Test func invalidatorOnABrokerDispatcherIsRejected() {
        let rule = #""model": "a.B", "invalidator": "drop_all", "dispatcher": "recording", "dispatcher_config": {"in_process": false}"#
        let error = compileError(singleRuleDocument(rule), registry: registryWithRecording(DispatchLog()))
        #expect(error?.path == "functions[0].rules[0].dispatcher")
        #expect(error?.line == 7)
        #expect(
            error?.message
                == "the rule has the custom invalidator 'drop_all', which runs in this process, but its dispatcher 'recording' hands work to a broker")
    }

    @Test(arguments: ["inline", "threadpool", "asyncio"])
    func invalidatorOnAnInProcessDispatcherIsAccepted(dispatcher: String) throws {
        let rule = #""model": "a.B", "invalidator": "drop_all", "dispatcher": "\#(dispatcher)""#
        let rules = try compileRules(singleRuleDocument(rule))
        #expect(rules.rules.first?.invalidator == "drop_all")
    }

    @Test func unknownRecomputerIsRejected() {
        let text = "{\"functions\": [\n{\"name\": \"f\", \"recompute\": \"magic\", \"rules\": [{\"model\": \"a.B\"}]}\n]}"
        let error = compileError(text)
        #expect(error?.path == "functions[0].recompute")
        #expect(error?.line == 2)
        #expect(error?.message == "unknown recomputer 'magic'")
        #expect(error?.fix == "Known recomputers: snapshot.")
    }

    // MARK: - Lookups

    @Test func rulesAreIndexedByIDAndModel() throws {
        let text = """
            {"functions": [
              {"name": "f", "rules": [{"id": "one", "model": "a.B"}, {"id": "two", "model": "a.C"}]},
              {"name": "g", "rules": [{"id": "three", "model": "a.B", "dispatcher": "threadpool"}]}
            ]}
            """
        let rules = try compileRules(text)
        #expect(rules.rule(id: "two")?.model == "a.C")
        #expect(rules.rule(id: "missing") == nil)
        #expect(rules.dispatcher(forRule: "three")?.name == "threadpool")
        #expect(rules.function(of: try #require(rules.rule(id: "three"))).name == "g")
        #expect(rules.models == ["a.B", "a.C"])
        #expect(rules.rulesByModel["a.B"] == [0, 2])
    }

    @Test func batchGroupsFollowBatchKeys() throws {
        let text = """
            {"functions": [{"name": "f", "rules": [
              {"id": "a", "model": "m.M", "dispatcher": "threadpool", "batch": true},
              {"id": "b", "model": "m.M", "dispatcher": "threadpool", "batch": false},
              {"id": "c", "model": "m.M", "dispatcher": "threadpool", "dispatcher_config": {"max_workers": 2}, "batch": true},
              {"id": "d", "model": "m.M", "dispatcher": "inline", "batch": true},
              {"id": "e", "model": "m.M", "dispatcher": "threadpool", "batch": true}
            ]}]}
            """
        let rules = try compileRules(text)
        let groups = rules.compiled.map(\.batchGroup)
        #expect(groups[0] == 0)
        #expect(groups[1] == nil, "batch: false runs on its own")
        #expect(groups[2] == 1, "other options give another batch key")
        #expect(groups[3] == nil, "inline does not batch")
        #expect(groups[4] == 0)
    }

    @Test func compiledRuleCarriesDispatcherFields() throws {
        let text = """
            {"functions": [{"name": "f", "rules": [
              {"id": "a", "model": "m.M", "dispatcher": "threadpool", "dispatcher_config": {"raise_exception": true}}
            ]}]}
            """
        let rules = try compileRules(text)
        let compiled = try #require(rules.compiled.first)
        #expect(compiled.dispatcherName == "threadpool")
        #expect(compiled.batchKey == compiled.dispatcher.batchKey)
        #expect(compiled.dispatcherOptions == compiled.dispatcher.resolvedOptions)
        #expect(compiled.dispatcherRaiseException == true)
    }
}
