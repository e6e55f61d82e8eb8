import Testing

@testable import Engine

@Suite struct DispatcherOptionsTests {
    static func options(_ pairs: (String, JSONValue)..., dispatcher: String = "threadpool") -> DispatcherOptions {
        DispatcherOptions(dispatcher: dispatcher, values: JSONObject(pairs))
    }

    // MARK: - Merging

    @Test func ruleConfigWinsOverTheSettingsBlock() {
        let merged = DispatcherOptions.merged(
            dispatcher: "threadpool", settingsBlock: JSONObject([("max_workers", 8), ("raise_exception", true)]),
            ruleConfig: JSONObject([("max_workers", 2)]), globalRaiseException: false,
            settingsPath: "settings.dispatchers.threadpool", rulePath: "functions[0].rules[1].dispatcher_config")
        #expect(merged.values["max_workers"] == .int(2))
        #expect(merged.values["raise_exception"] == .bool(true))
        #expect(merged.origins["max_workers"] == "functions[0].rules[1].dispatcher_config.max_workers")
        #expect(merged.origins["raise_exception"] == "settings.dispatchers.threadpool.raise_exception")
    }

    @Test func mergedKeepsSettingsOrderThenNewRuleKeys() {
        let merged = DispatcherOptions.merged(
            dispatcher: "recording", settingsBlock: JSONObject([("lane", "a"), ("batching", true)]),
            ruleConfig: JSONObject([("in_process", true), ("lane", "b")]), globalRaiseException: true,
            settingsPath: "s", rulePath: "r")
        #expect(merged.values.keys == ["lane", "batching", "in_process"])
        #expect(merged.globalRaiseException)
        #expect(merged.dispatcher == "recording")
    }

    @Test func sortedDescriptionOrdersKeys() {
        let options = Self.options(("raise_exception", true), ("max_workers", 2))
        #expect(options.sortedDescription == "max_workers=2,raise_exception=true")
    }

    // MARK: - Threadpool max_workers

    @Test(arguments: [
        (JSONValue.int(0), "0"),
        (.int(-1), "-1"),
        (.string("4"), #""4""#),
        (.double(4.5), "4.5"),
        (.double(4.0), "4.0"),
        (.int(1025), "1025"),
        (.bool(true), "true"),
    ])
    func invalidMaxWorkersIsRejected(value: JSONValue, shown: String) {
        let error = #expect(throws: DispatcherConfigurationError.self) {
            try ThreadPoolDispatcher(options: Self.options(("max_workers", value)))
        }
        #expect(error?.dispatcher == "threadpool")
        #expect(error?.key == "max_workers")
        #expect(error?.value == value)
        #expect(error?.expected == "a positive integer (1 to 1024)")
        #expect(error?.description == "threadpool option 'max_workers' is \(shown); expected a positive integer (1 to 1024)")
    }

    @Test(arguments: [(JSONValue.int(1), 1), (.int(1024), 1024), (.int(4), 4), (.null, 4)])
    func validMaxWorkersIsAccepted(value: JSONValue, expected: Int) throws {
        let dispatcher = try ThreadPoolDispatcher(options: Self.options(("max_workers", value)))
        #expect(dispatcher.maxWorkers == expected)
    }

    @Test func maxWorkersDefaultsToFour() throws {
        let dispatcher = try ThreadPoolDispatcher(options: Self.options())
        #expect(dispatcher.maxWorkers == 4)
        #expect(dispatcher.resolvedOptions["max_workers"] == .int(4))
    }

    // MARK: - Unknown keys and other types

    @Test func unknownKeyIsRejectedWithKnownOptions() {
        let error = #expect(throws: DispatcherConfigurationError.self) {
            try ThreadPoolDispatcher(options: Self.options(("workers", 2)))
        }
        #expect(error?.key == "workers")
        #expect(error?.value == nil)
        #expect(error?.description == "threadpool has no option 'workers'; known options: max_workers, raise_exception")
    }

    @Test func misspeltKeyGetsASuggestion() {
        let error = #expect(throws: DispatcherConfigurationError.self) {
            try ThreadPoolDispatcher(options: Self.options(("max_wrokers", 2)))
        }
        #expect(
            error?.description
                == "threadpool has no option 'max_wrokers'; did you mean 'max_workers'? known options: max_workers, raise_exception")
    }

    @Test(arguments: ["inline", "asyncio"])
    func dispatcherWithoutOptionsRejectsAny(name: String) {
        let options = Self.options(("max_workers", 2), dispatcher: name)
        let error = #expect(throws: DispatcherConfigurationError.self) {
            try DispatcherRegistry.withInProcessDispatchers().make(name, options: options)
        }
        #expect(error?.description == "\(name) has no option 'max_workers'; known options: raise_exception")
    }

    @Test func raiseExceptionIsAlwaysAllowed() throws {
        let inline = try InlineDispatcher(options: Self.options(("raise_exception", true), dispatcher: "inline"))
        #expect(inline.raiseException == true)
    }

    @Test(arguments: [JSONValue.int(1), .string("true"), .array([])])
    func raiseExceptionMustBeABoolean(value: JSONValue) {
        let error = #expect(throws: DispatcherConfigurationError.self) {
            try InlineDispatcher(options: Self.options(("raise_exception", value), dispatcher: "inline"))
        }
        #expect(error?.key == "raise_exception")
        #expect(error?.expected == "true, false or null")
    }

    @Test func nullRaiseExceptionMeansUnset() throws {
        let inline = try InlineDispatcher(options: Self.options(("raise_exception", nil), dispatcher: "inline"))
        #expect(inline.raiseException == nil)
    }

    @Test(arguments: [
        (JSONValue.null, "fallback"), (.string("q"), "q"),
    ])
    func stringOptionReadsOrFallsBack(value: JSONValue, expected: String) throws {
        #expect(try Self.options(("queue", value)).string("queue", default: "fallback") == expected)
    }

    @Test(arguments: [JSONValue.string(""), .int(3)])
    func stringOptionRejectsEmptyAndOtherTypes(value: JSONValue) {
        let error = #expect(throws: DispatcherConfigurationError.self) {
            try Self.options(("queue", value)).string("queue")
        }
        #expect(error?.expected == "a non-empty string")
    }

    // MARK: - Built-in dispatchers

    @Test func inlineRunsAloneOnTheCallingThread() throws {
        let inline = try InlineDispatcher(options: Self.options(dispatcher: "inline"))
        #expect(inline.name == "inline")
        #expect(!inline.supportsBatching)
        #expect(inline.runsInProcess)
        #expect(inline.batchKey == "inline")
        #expect(inline.runsOn == "calling thread")
    }

    @Test func asyncioDoesNotBatch() throws {
        let asyncio = try AsyncTaskDispatcher(options: Self.options(dispatcher: "asyncio"))
        #expect(asyncio.name == "asyncio")
        #expect(!asyncio.supportsBatching)
        #expect(asyncio.runsInProcess)
    }

    @Test func threadpoolBatches() throws {
        let pool = try ThreadPoolDispatcher(options: Self.options())
        #expect(pool.name == "threadpool")
        #expect(pool.supportsBatching)
        #expect(pool.runsInProcess)
    }

    /// Batch keys are the type plus the sorted options, as restflow's default `batch_key`.
    @Test(arguments: [
        (JSONObject(), "threadpool"),
        (JSONObject([("max_workers", 2)]), "threadpool|max_workers=2"),
        (JSONObject([("raise_exception", true), ("max_workers", 2)]), "threadpool|max_workers=2,raise_exception=true"),
        (JSONObject([("max_workers", 4)]), "threadpool|max_workers=4"),
    ])
    func threadpoolBatchKeyIsTypeAndSortedOptions(values: JSONObject, expected: String) throws {
        let pool = try ThreadPoolDispatcher(options: DispatcherOptions(dispatcher: "threadpool", values: values))
        #expect(pool.batchKey == expected)
    }

    @Test func inlineBatchKeyIncludesItsOptions() throws {
        let inline = try InlineDispatcher(options: Self.options(("raise_exception", false), dispatcher: "inline"))
        #expect(inline.batchKey == "inline|raise_exception=false")
    }
}
