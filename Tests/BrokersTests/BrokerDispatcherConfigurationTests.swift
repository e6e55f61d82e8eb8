import Brokers
import Engine
import Testing

/// One way of configuring a broker dispatcher and what it resolves to.
struct ResolutionCase: CustomTestStringConvertible, Sendable {
    var dispatcher: String
    var settingsBlock: JSONValue = [:]
    var ruleConfig: JSONValue = [:]
    /// The resolved options that decide where tasks go, by key; nil means none.
    var expected: [String: String?]
    var batchKey: String
    var runsOn: String
    var queue: String

    var testDescription: String {
        "\(dispatcher) settings \(settingsBlock) rule \(ruleConfig)"
    }
}

@Suite struct BrokerDispatcherConfigurationTests {
    static let celeryTask = "restflow.caching.tasks.task_run_cache_rules"
    static let runCacheRules = "restflow.caching.tasks.run_cache_rules"

    static let cases: [ResolutionCase] = [
        ResolutionCase(
            dispatcher: "celery", expected: ["task_name": celeryTask, "queue": nil],
            batchKey: #"celery|task_name="\#(celeryTask)",queue=null"#, runsOn: "celery:celery", queue: "celery"),
        ResolutionCase(
            dispatcher: "celery", settingsBlock: ["queue": "from-settings", "task_name": "app.tasks.invalidate"],
            expected: ["task_name": "app.tasks.invalidate", "queue": "from-settings"],
            batchKey: #"celery|task_name="app.tasks.invalidate",queue="from-settings""#, runsOn: "celery:from-settings",
            queue: "from-settings"),
        ResolutionCase(
            dispatcher: "celery", settingsBlock: ["queue": "from-settings"], ruleConfig: ["queue": "from-rule"],
            expected: ["task_name": celeryTask, "queue": "from-rule"],
            batchKey: #"celery|task_name="\#(celeryTask)",queue="from-rule""#, runsOn: "celery:from-rule", queue: "from-rule"),
        ResolutionCase(
            dispatcher: "django_rq", expected: ["queue": "default", "function_path": runCacheRules],
            batchKey: #"django_rq|queue="default",function_path="\#(runCacheRules)""#, runsOn: "django_rq:default",
            queue: "default"),
        ResolutionCase(
            dispatcher: "django_rq", settingsBlock: ["queue": "low", "function_path": "app.jobs.run"],
            ruleConfig: ["queue": "high"], expected: ["queue": "high", "function_path": "app.jobs.run"],
            batchKey: #"django_rq|queue="high",function_path="app.jobs.run""#, runsOn: "django_rq:high", queue: "high"),
        ResolutionCase(
            dispatcher: "django_q", expected: ["cluster": nil, "group": nil, "function_path": runCacheRules],
            batchKey: #"django_q|cluster=null,group=null,function_path="\#(runCacheRules)""#,
            runsOn: "django_q:default cluster", queue: ""),
        ResolutionCase(
            dispatcher: "django_q", settingsBlock: ["cluster": "invalidation", "group": "cache"],
            ruleConfig: ["group": "products"],
            expected: ["cluster": "invalidation", "group": "products", "function_path": runCacheRules],
            batchKey: #"django_q|cluster="invalidation",group="products",function_path="\#(runCacheRules)""#,
            runsOn: "django_q:invalidation", queue: "invalidation"),
        ResolutionCase(
            dispatcher: "dramatiq", expected: ["queue": "default", "actor_name": "restflow.task_run_cache_rules"],
            batchKey: #"dramatiq|queue="default",actor_name="restflow.task_run_cache_rules""#, runsOn: "dramatiq:default",
            queue: "default"),
        ResolutionCase(
            dispatcher: "dramatiq", settingsBlock: ["queue": "cache-invalidation", "actor_name": "app.invalidate"],
            ruleConfig: ["actor_name": "app.invalidate_now"],
            expected: ["queue": "cache-invalidation", "actor_name": "app.invalidate_now"],
            batchKey: #"dramatiq|queue="cache-invalidation",actor_name="app.invalidate_now""#,
            runsOn: "dramatiq:cache-invalidation", queue: "cache-invalidation"),
    ]

    static func build(_ name: String, _ options: DispatcherOptions) throws -> any Dispatcher {
        let registry = DispatcherRegistry()
        registerBrokerDispatchers(in: registry, broker: EmbeddedBroker())
        return try registry.make(name, options: options)
    }

    @Test(arguments: cases)
    func resolvesOptionsAndBatchKey(_ testCase: ResolutionCase) throws {
        let options = DispatcherOptions.merged(
            dispatcher: testCase.dispatcher, settingsBlock: testCase.settingsBlock.objectValue!,
            ruleConfig: testCase.ruleConfig.objectValue!,
            globalRaiseException: false, settingsPath: "settings.dispatchers.\(testCase.dispatcher)", rulePath: "rule")
        let dispatcher = try Self.build(testCase.dispatcher, options)

        #expect(dispatcher.name == testCase.dispatcher)
        #expect(dispatcher.batchKey == testCase.batchKey)
        #expect(dispatcher.runsOn == testCase.runsOn)
        #expect(dispatcher.supportsBatching)
        #expect(!dispatcher.runsInProcess)
        for (key, value) in testCase.expected {
            #expect(dispatcher.resolvedOptions[key] == (value.map(JSONValue.string) ?? .null), "option \(key)")
        }
        let task = try #require(dispatcher as? any BrokerDispatcher).makeTask(for: Self.batch(for: dispatcher))
        #expect(task.queue == testCase.queue)
    }

    /// A replay rebuilds a dispatcher from the resolved options it journalled.
    @Test(arguments: cases)
    func rebuildsFromResolvedOptions(_ testCase: ResolutionCase) throws {
        let options = DispatcherOptions.merged(
            dispatcher: testCase.dispatcher, settingsBlock: testCase.settingsBlock.objectValue!,
            ruleConfig: testCase.ruleConfig.objectValue!,
            globalRaiseException: false, settingsPath: "settings", rulePath: "rule")
        let first = try Self.build(testCase.dispatcher, options)
        let rebuilt = try Self.build(testCase.dispatcher, DispatcherOptions(dispatcher: testCase.dispatcher, values: first.resolvedOptions))

        #expect(rebuilt.batchKey == first.batchKey)
        #expect(rebuilt.resolvedOptions == first.resolvedOptions)
    }

    @Test func raiseExceptionIsReadFromEveryDispatcher() throws {
        for name in ["celery", "django_rq", "django_q", "dramatiq"] {
            let dispatcher = try Self.build(name, DispatcherOptions(dispatcher: name, values: JSONObject([("raise_exception", true)])))
            #expect(dispatcher.raiseException == true, "\(name)")
            let unset = try Self.build(name, DispatcherOptions(dispatcher: name))
            #expect(unset.raiseException == nil, "\(name)")
        }
    }

    /// An invalid option and the words its error must contain.
    struct InvalidCase: CustomTestStringConvertible, Sendable {
        var dispatcher: String
        var values: JSONValue
        var key: String
        var value: JSONValue
        var phrases: [String]
        var testDescription: String { "\(dispatcher) \(key)=\(JSONWriter.string(value))" }
    }

    static let invalidCases: [InvalidCase] = [
        InvalidCase(
            dispatcher: "celery", values: ["max_workers": 4], key: "max_workers", value: 4,
            phrases: ["celery option 'max_workers' is 4", "no such option", "queue, raise_exception, task_name"]),
        InvalidCase(
            dispatcher: "celery", values: ["queue": 5], key: "queue", value: 5,
            phrases: ["celery option 'queue' is 5", "expected a non-empty string"]),
        InvalidCase(
            dispatcher: "celery", values: ["task_name": ""], key: "task_name", value: "",
            phrases: [#"celery option 'task_name' is """#, "expected a non-empty string"]),
        InvalidCase(
            dispatcher: "django_rq", values: ["queue": ["a", "b"]], key: "queue", value: ["a", "b"],
            phrases: [#"django_rq option 'queue' is ["a","b"]"#, "expected a non-empty string"]),
        InvalidCase(
            dispatcher: "django_rq", values: ["queues": "high"], key: "queues", value: "high",
            phrases: [#"django_rq option 'queues' is "high""#, "did you mean 'queue'?"]),
        InvalidCase(
            dispatcher: "django_q", values: ["group": true], key: "group", value: true,
            phrases: ["django_q option 'group' is true", "expected a non-empty string"]),
        InvalidCase(
            dispatcher: "django_q", values: ["queue": "default"], key: "queue", value: "default",
            phrases: [#"django_q option 'queue' is "default""#, "cluster, function_path, group, raise_exception"]),
        InvalidCase(
            dispatcher: "dramatiq", values: ["actor_name": 1.5], key: "actor_name", value: 1.5,
            phrases: ["dramatiq option 'actor_name' is 1.5", "expected a non-empty string"]),
        InvalidCase(
            dispatcher: "dramatiq", values: ["raise_exception": "yes"], key: "raise_exception", value: "yes",
            phrases: [#"dramatiq option 'raise_exception' is "yes""#, "expected true, false or null"]),
    ]

    @Test(arguments: invalidCases)
    func rejectsInvalidOption(_ testCase: InvalidCase) {
        let options = DispatcherOptions(dispatcher: testCase.dispatcher, values: testCase.values.objectValue!)
        do {
            _ = try Self.build(testCase.dispatcher, options)
            Issue.record("\(testCase.dispatcher) accepted \(testCase.key)=\(JSONWriter.string(testCase.value))")
        } catch let error as DispatcherConfigurationError {
            #expect(error.key == testCase.key)
            #expect(error.value == testCase.value)
            for phrase in testCase.phrases {
                #expect(error.description.contains(phrase), "\(error.description)")
            }
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    /// A bad option in a rule fails the whole configuration at load, at the rule's path.
    @Test func ruleWithInvalidOptionFailsCompilation() throws {
        let text = EmbeddedFixtures.configuration([
            FixtureRule(id: "bad", dispatcher: "celery", dispatcherConfig: #"{"max_workers": 4}"#)
        ])
        let registry = DispatcherRegistry.withInProcessDispatchers()
        registerBrokerDispatchers(in: registry, broker: EmbeddedBroker())
        let configuration = try ConfigurationLoader.parse(text)
        #expect {
            try RuleSet.compile(configuration, registry: registry)
        } throws: { error in
            let text = String(describing: error)
            return text.contains("functions[0].rules[0].dispatcher_config.max_workers") && text.contains("'max_workers' is 4")
        }
    }

    /// A rule that needs an in-process dispatcher cannot use a broker one.
    @Test func invalidatorRuleRejectsBrokerDispatcher() throws {
        let text = """
            {"functions": [{"name": "f", "rules": [
              {"model": "shop.Product", "invalidator": "drop_all", "dispatcher": "dramatiq"}]}]}
            """
        let registry = DispatcherRegistry.withInProcessDispatchers()
        registerBrokerDispatchers(in: registry, broker: EmbeddedBroker())
        let configuration = try ConfigurationLoader.parse(text)
        #expect {
            try RuleSet.compile(configuration, registry: registry)
        } throws: { error in
            String(describing: error).contains("hands work to a broker")
        }
    }

    static func batch(for dispatcher: any Dispatcher) -> Batch {
        Batch(
            id: 1, dispatcher: dispatcher.name, batchKey: dispatcher.batchKey, model: "shop.Product", pk: 1,
            signal: .postSave, ruleIDs: ["r"], restflowRuleIDs: [1], ruleKwargs: JSONObject([("r", ["product_id": 1])]),
            options: dispatcher.resolvedOptions, createdAt: 0)
    }
}
