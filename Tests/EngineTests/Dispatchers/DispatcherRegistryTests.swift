import Testing

@testable import Engine

@Suite struct DispatcherRegistryTests {
    static func registration(_ name: String, lane: String = "") -> DispatcherRegistration {
        DispatcherRegistration(name: name) { options throws(DispatcherConfigurationError) in
            var values = options.values
            if !lane.isEmpty { values["lane"] = .string(lane) }
            return try RecordingDispatcher(
                options: DispatcherOptions(dispatcher: name, values: values), log: DispatchLog())
        }
    }

    @Test func registeredTypeResolvesByName() throws {
        let registry = DispatcherRegistry()
        try registry.register(InlineDispatcher.self)
        let dispatcher = try registry.make("inline", options: DispatcherOptions(dispatcher: "inline"))
        #expect(dispatcher.name == "inline")
        #expect(try registry.resolve("inline").name == "inline")
    }

    @Test func registeringANameAgainReplacesIt() throws {
        let registry = DispatcherRegistry()
        try registry.register(Self.registration("custom", lane: "first"))
        try registry.register(Self.registration("custom", lane: "second"))
        let dispatcher = try registry.make("custom", options: DispatcherOptions(dispatcher: "custom"))
        #expect(dispatcher.resolvedOptions["lane"] == .string("second"))
        #expect(registry.registeredNames() == ["custom"])
    }

    @Test(arguments: ["", " ", "\t\n"])
    func emptyNameIsRejected(name: String) {
        let registry = DispatcherRegistry()
        let error = #expect(throws: DispatcherRegistryError.self) { try registry.register(Self.registration(name)) }
        #expect(error == .emptyName)
        #expect(error?.description == "a dispatcher needs a non-empty name to be registered")
        #expect(registry.registeredNames().isEmpty)
    }

    @Test func unknownNameListsSortedNamesAndHowToRegister() throws {
        let registry = DispatcherRegistry()
        for name in ["zeta", "alpha", "mid"] {
            try registry.register(Self.registration(name))
        }
        let error = #expect(throws: DispatcherRegistryError.self) { try registry.resolve("celery") }
        #expect(error == .unknownName("celery", registered: ["alpha", "mid", "zeta"]))
        #expect(
            error?.description
                == "unknown dispatcher 'celery'. Registered dispatchers: alpha, mid, zeta. "
                + "Use one of these names; a custom dispatcher is a Swift type registered under its name in code, "
                + "before the configuration is loaded")
    }

    @Test func unknownNameInAnEmptyRegistrySaysNone() {
        let registry = DispatcherRegistry()
        let error = #expect(throws: DispatcherRegistryError.self) { try registry.resolve("inline") }
        #expect(error?.description.hasPrefix("unknown dispatcher 'inline'. Registered dispatchers: (none). ") == true)
    }

    @Test func registeredNamesAreSorted() throws {
        let registry = DispatcherRegistry()
        for name in ["threadpool", "Zulu", "asyncio", "inline", "b"] {
            try registry.register(Self.registration(name))
        }
        #expect(registry.registeredNames() == ["Zulu", "asyncio", "b", "inline", "threadpool"])
    }

    @Test func inProcessRegistryHasTheThreeBuiltIns() {
        #expect(DispatcherRegistry.withInProcessDispatchers().registeredNames() == ["asyncio", "inline", "threadpool"])
    }

    @Test func makeReportsInvalidOptions() {
        let registry = DispatcherRegistry.withInProcessDispatchers()
        let options = DispatcherOptions(dispatcher: "threadpool", values: JSONObject([("max_workers", 0)]))
        #expect(throws: DispatcherConfigurationError.self) { try registry.make("threadpool", options: options) }
    }
}
