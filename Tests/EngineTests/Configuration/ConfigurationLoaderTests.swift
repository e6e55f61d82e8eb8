import Foundation
import TestSupport
import Testing

@testable import Engine

@Suite struct ConfigurationLoaderTests {
    /// Three functions; the third function's rule has a bad `watch_fields` on line 14.
    static let badWatchFields = """
        {
          "functions": [
            {"name": "shop.views.a",
             "rules": [{"model": "shop.A", "field_mapping": {"id": "id"}}]},
            {"name": "shop.views.b",
             "rules": [{"model": "shop.B", "field_mapping": {"id": "id"}}]},
            {
              "name": "shop.views.c",
              "rules": [
                {
                  "model": "shop.C",
                  "field_mapping": {"id": "id"},
                  "batch": false,
                  "watch_fields": 3
                }
              ]
            }
          ]
        }
        """

    // MARK: - Messages with path and line

    @Test func wrongTypeNamesPathAndLine() {
        let error = configurationError(Self.badWatchFields)
        #expect(error?.path == "functions[2].rules[0].watch_fields")
        #expect(error?.message == "expected a list of strings, got 3")
        #expect(error?.line == 14)
        #expect(error?.description == "functions[2].rules[0].watch_fields: expected a list of strings, got 3")
    }

    @Test func descriptionStartsWithFileAndLine() {
        let error = configurationError(Self.badWatchFields, file: "rules.json")
        #expect(error?.file == "rules.json")
        #expect(
            error?.description
                == "rules.json:14: functions[2].rules[0].watch_fields: expected a list of strings, got 3")
    }

    @Test func wrongListItemNamesItsIndex() {
        let error = configurationError(singleRuleDocument(#""model": "a.B", "watch_fields": ["name", 3]"#))
        #expect(error?.path == "functions[0].rules[0].watch_fields[1]")
        #expect(error?.message == "expected a string, got 3")
        #expect(error?.line == 7)
    }

    @Test func syntaxErrorGivesLineAndColumn() {
        let text = "{\n  \"functions\": [\n    {\"name\": \"f\",}\n  ]\n}"
        let error = configurationError(text, file: "broken.json")
        #expect(error?.line == 3)
        #expect(error?.path == "")
        #expect(error?.message == "invalid JSON at column 18: unexpected '}', expected a member name in double quotes")
        #expect(
            error?.description
                == "broken.json:3: invalid JSON at column 18: unexpected '}', expected a member name in double quotes. "
                + "Fix the JSON syntax there.")
    }

    /// Each row: a rule body, the path of the error, its message.
    @Test(arguments: [
        (#""model": "a.B", "trigger_on_create": "yes""#, "trigger_on_create", #"expected true or false, got "yes""#),
        (#""model": "a.B", "rewarm": 1"#, "rewarm", "expected true or false, got 1"),
        (#""model": "a.B", "batch": null"#, "batch", "expected true or false, got null"),
        (#""model": "a.B", "raise_exception": 1"#, "raise_exception", "expected true, false or null, got 1"),
        (#""model": "a.B", "require_args": "all""#, "require_args", #"expected true, false or a list of argument names, got "all""#),
        (#""model": "a.B", "require_args": [1]"#, "require_args[0]", "expected a string, got 1"),
        (#""model": "a.B", "field_mapping": ["id"]"#, "field_mapping", #"expected an object, got ["id"]"#),
        (#""model": "a.B", "field_mapping": {"id": 5}"#, "field_mapping.id", "expected a string, got 5"),
        (#""model": "a.B", "field_mapping": {"id": " "}"#, "field_mapping.id", #"expected a non-empty string, got """#),
        (#""model": "a.B", "field_mapping": {"id": "team..id"}"#, "field_mapping.id", "the attribute path 'team..id' has an empty segment"),
        (#""model": "a.B", "invalidate_when": {"!": 1}"#, "invalidate_when.!", "'!' is not an attribute path"),
        (#""model": "a.B", "invalidate_when": {"a.": 1}"#, "invalidate_when.a.", "'a.' is not an attribute path"),
        (#""model": "a.B", "invalidate_when": [1]"#, "invalidate_when", "expected an object, got [1]"),
        (#""model": "a.B", "dispatcher": 4"#, "dispatcher", "expected a string, got 4"),
        (#""model": "a.B", "dispatcher_config": "x""#, "dispatcher_config", #"expected an object, got "x""#),
        (#""model": "a.B", "id": """#, "id", #"expected a non-empty string, got """#),
        (#""model": "a.B", "restflow_id": 0"#, "restflow_id", "expected a positive integer, got 0"),
        (#""model": "a.B", "restflow_id": 1.5"#, "restflow_id", "expected an integer, got 1.5"),
        (#""model": 7"#, "model", "expected a string, got 7"),
        (#""model": """#, "model", #"expected a non-empty string, got """#),
        (#""model": "Product""#, "model", "'Product' is not a model label"),
        (#""model": "shop.Product.Extra""#, "model", "'shop.Product.Extra' is not a model label"),
        (#""model": ".Product""#, "model", "'.Product' is not a model label"),
    ])
    func badRuleValueIsRejected(rule: String, member: String, message: String) {
        let error = configurationError(singleRuleDocument(rule))
        #expect(error?.path == "functions[0].rules[0].\(member)")
        #expect(error?.message == message)
        #expect(error?.line == 7)
    }

    @Test func duplicateKeyIsRejectedWithItsLine() {
        let text = "{\"functions\": [],\n\"settings\": {\"raise_exception\": true,\n \"raise_exception\": false}}"
        let error = configurationError(text)
        #expect(error?.line == 3)
        #expect(error?.message.contains("\"raise_exception\" appears twice") == true)
    }

    @Test func missingModelNamesTheRule() {
        let error = configurationError(singleRuleDocument(#""field_mapping": {"id": "id"}"#))
        #expect(error?.path == "functions[0].rules[0]")
        #expect(error?.message == "missing \"model\"")
        #expect(error?.line == 7)
    }

    @Test func longValueIsCutInTheMessage() {
        let long = String(repeating: "x", count: 100)
        let error = configurationError(singleRuleDocument(#""model": "a.B", "batch": "\#(long)""#))
        let shown = "\"" + String(repeating: "x", count: 56) + "..."
        #expect(error?.message == "expected true or false, got \(shown)")
    }

    // MARK: - Document structure

    @Test func topLevelMustBeAnObject() {
        let error = configurationError("[1, 2]")
        #expect(error?.path == "")
        #expect(error?.message == "expected an object, got [1,2]")
        #expect(error?.line == 1)
    }

    @Test func missingFunctionsIsAnError() {
        let error = configurationError(#"{"settings": {}}"#)
        #expect(error?.path == "functions")
        #expect(error?.message == "missing")
        #expect(error?.line == 1)
    }

    @Test func functionsMustBeAList() {
        let error = configurationError("{\n\"functions\": {}\n}")
        #expect(error?.path == "functions")
        #expect(error?.message == "expected a list of functions, got {}")
        #expect(error?.line == 2)
    }

    @Test func functionNeedsAName() {
        let error = configurationError("{\"functions\": [\n{\"rules\": []}\n]}")
        #expect(error?.path == "functions[0]")
        #expect(error?.message == "missing \"name\"")
        #expect(error?.line == 2)
    }

    @Test func duplicateFunctionNameIsRejected() {
        let text = "{\"functions\": [\n{\"name\": \"f\"},\n{\"name\": \"f\"}\n]}"
        let error = configurationError(text)
        #expect(error?.path == "functions[1].name")
        #expect(error?.message == "the function 'f' is already declared at functions[0]")
        #expect(error?.line == 3)
    }

    @Test(arguments: [
        (#"{"namespace": 1}"#, "key.namespace", "expected a string, got 1"),
        (#"{"version": "2"}"#, "key.version", #"expected an integer, got "2""#),
        (#"{"partition": "id"}"#, "key.partition", #"expected a list of strings, got "id""#),
        (#"{"partition": ["id", 2]}"#, "key.partition[1]", "expected a string, got 2"),
        (#"{"identifier": ""}"#, "key.identifier", #"expected a non-empty string, got """#),
        (#"{"version": 0}"#, "key.version", "expected a version of 1 or more, got 0"),
        (#"{"version": -3}"#, "key.version", "expected a version of 1 or more, got -3"),
    ])
    func badKeyLayoutIsRejected(key: String, member: String, message: String) {
        let text = "{\"functions\": [\n{\"name\": \"f\",\n \"key\": \(key)}\n]}"
        let error = configurationError(text)
        #expect(error?.path == "functions[0].\(member)")
        #expect(error?.message == message)
        #expect(error?.line == 3)
    }

    @Test(arguments: [
        (#"{"default_dispatcher": ""}"#, "settings.default_dispatcher", #"expected a non-empty string, got """#),
        (#"{"raise_exception": "no"}"#, "settings.raise_exception", #"expected true or false, got "no""#),
        (#"{"cache_key_prefix": 1}"#, "settings.cache_key_prefix", "expected a string, got 1"),
        (#"{"dispatchers": []}"#, "settings.dispatchers", "expected an object, got []"),
        (#"{"dispatchers": {"threadpool": 4}}"#, "settings.dispatchers.threadpool", "expected an object, got 4"),
        ("[]", "settings", "expected an object, got []"),
    ])
    func badSettingIsRejected(settings: String, path: String, message: String) {
        let text = "{\"functions\": [],\n\"settings\": \(settings)}"
        let error = configurationError(text)
        #expect(error?.path == path)
        #expect(error?.message == message)
        #expect(error?.line == 2)
    }

    // MARK: - Unknown keys

    @Test(arguments: [
        ("{\"functions\": [],\n\"setings\": {}}", "setings", "Did you mean 'settings'?"),
        ("{\"functions\": [],\n\"settings\": {\"default_dispacher\": \"inline\"}}", "settings.default_dispacher",
         "Did you mean 'default_dispatcher'?"),
        ("{\"functions\": [\n{\"name\": \"f\", \"recompte\": \"snapshot\"}]}", "functions[0].recompte",
         "Did you mean 'recompute'?"),
        ("{\"functions\": [\n{\"name\": \"f\", \"key\": {\"partitions\": []}}]}", "functions[0].key.partitions",
         "Did you mean 'partition'?"),
    ])
    func unknownKeySuggestsTheClosest(text: String, path: String, fix: String) {
        let error = configurationError(text)
        let key = path.split(separator: ".").last.map(String.init) ?? path
        #expect(error?.path == path)
        #expect(error?.message == "unknown key '\(key)'")
        #expect(error?.fix == fix)
        #expect(error?.line == 2)
    }

    @Test(arguments: [
        ("watch_field", "watch_fields"),
        ("Watch_Fields", "watch_fields"),
        ("fieldmapping", "field_mapping"),
        ("require_arg", "require_args"),
        ("trigger_on_creat", "trigger_on_create"),
        ("dispatcher_conf", "dispatcher_config"),
        ("invalidate_if", "invalidate_when"),
    ])
    func unknownRuleKeySuggestsTheClosest(key: String, suggestion: String) {
        let error = configurationError(singleRuleDocument(#""model": "a.B", "\#(key)": null"#))
        #expect(error?.path == "functions[0].rules[0].\(key)")
        #expect(error?.message == "unknown key '\(key)'")
        #expect(error?.fix == "Did you mean '\(suggestion)'?")
        #expect(error?.line == 7)
    }

    @Test func unrelatedUnknownKeyListsTheAllowedKeys() {
        let error = configurationError("{\"functions\": [],\n\"zzzzzzzz\": 1}")
        #expect(error?.message == "unknown key 'zzzzzzzz'")
        #expect(error?.fix == "Allowed keys: settings, functions, description")
    }

    // MARK: - Settings

    @Test func uppercaseSettingsBlockKeysAreAccepted() throws {
        let settings = #"{"dispatchers": {"threadpool": {"MAX_WORKERS": 2, "RAISE_EXCEPTION": true}}}"#
        let text = singleRuleDocument(#""model": "a.B", "dispatcher": "threadpool""#, settings: settings)
        let configuration = try loadConfiguration(text)
        let block = configuration.settings.block(for: "threadpool")
        #expect(block.keys == ["max_workers", "raise_exception"])
        #expect(block["max_workers"] == .int(2))
        #expect(block["raise_exception"] == .bool(true))
    }

    @Test func uppercaseSettingsReachTheDispatcher() throws {
        let settings = #"{"dispatchers": {"threadpool": {"MAX_WORKERS": 2, "RAISE_EXCEPTION": true}}}"#
        let rules = try compileRules(singleRuleDocument(#""model": "a.B", "dispatcher": "threadpool""#, settings: settings))
        let dispatcher = try #require(rules.dispatchers.first as? ThreadPoolDispatcher)
        #expect(dispatcher.maxWorkers == 2)
        #expect(dispatcher.raiseException == true)
    }

    @Test func sameKeyInTwoCasesIsRejected() {
        let settings = #"{"dispatchers": {"threadpool": {"max_workers": 2, "MAX_WORKERS": 3}}}"#
        let error = configurationError(singleRuleDocument(#""model": "a.B""#, settings: settings))
        #expect(error?.path == "settings.dispatchers.threadpool.MAX_WORKERS")
        #expect(error?.message == "the key 'max_workers' is set twice (keys are not case-sensitive here)")
        #expect(error?.line == 2)
    }

    @Test func settingsDefaultsApply() throws {
        let configuration = try loadConfiguration(#"{"functions": []}"#)
        #expect(configuration.settings.defaultDispatcher == "inline")
        #expect(configuration.settings.raiseException == false)
        #expect(configuration.settings.cacheKeyPrefix == "")
        #expect(configuration.settings.dispatchers.isEmpty)
    }

    @Test func defaultDispatcherAppliesToRulesWithoutOne() throws {
        let settings = #"{"default_dispatcher": "threadpool"}"#
        let configuration = try loadConfiguration(singleRuleDocument(#""model": "a.B""#, settings: settings))
        #expect(configuration.rules.first?.dispatcher == "threadpool")
    }

    // MARK: - Rule checks

    @Test func requireArgsNamingAnUnmappedArgumentIsAnError() {
        let rule = #""model": "a.B", "field_mapping": {"team": "team_id"}, "require_args": ["team", "owner"]"#
        let error = configurationError(singleRuleDocument(rule))
        #expect(error?.path == "functions[0].rules[0].require_args[1]")
        #expect(error?.message == "requires the argument 'owner', which field_mapping does not map")
        #expect(error?.fix == "field_mapping maps 'team'; a rule requiring an unmapped argument would never run.")
        #expect(error?.line == 7)
    }

    @Test func requireArgsWithoutFieldMappingIsAnError() {
        let error = configurationError(singleRuleDocument(#""model": "a.B", "require_args": ["id"]"#))
        #expect(error?.path == "functions[0].rules[0].require_args[0]")
        #expect(error?.fix == "Add 'id' to field_mapping, or remove it from require_args.")
    }

    @Test(arguments: [
        ("true", RequireArgs.all),
        ("false", .none),
        (#"["a"]"#, .only(["a"])),
        ("[]", .only([])),
    ])
    func requireArgsForms(value: String, expected: RequireArgs) throws {
        let rule = #""model": "a.B", "field_mapping": {"a": "a", "b": "b"}, "require_args": \#(value)"#
        let configuration = try loadConfiguration(singleRuleDocument(rule))
        #expect(configuration.rules.first?.requireArgs == expected)
    }

    @Test func requireArgsDefaultsToAll() throws {
        let configuration = try loadConfiguration(singleRuleDocument(#""model": "a.B", "field_mapping": {"a": "a"}"#))
        #expect(configuration.rules.first?.requireArgs == .all)
    }

    @Test func invalidatorTogetherWithFieldMappingIsAnError() {
        let rule = #""model": "a.B", "field_mapping": {"id": "id"}, "invalidator": "drop_all""#
        let error = configurationError(singleRuleDocument(rule))
        #expect(error?.path == "functions[0].rules[0].invalidator")
        #expect(error?.message == "a rule cannot have both an invalidator and a field_mapping")
        #expect(error?.line == 7)
    }

    @Test func invalidatorWithEmptyFieldMappingIsAccepted() throws {
        let rule = #""model": "a.B", "field_mapping": {}, "invalidator": "drop_all""#
        let configuration = try loadConfiguration(singleRuleDocument(rule))
        #expect(configuration.rules.first?.invalidator == "drop_all")
    }

    @Test func ruleFieldsAreRead() throws {
        let rule = """
            "model": "shop.Product", "field_mapping": {"product_id": "id", "team": "team.owner.id"},
            "require_args": ["product_id"], "trigger_on_create": true, "watch_fields": ["price"],
            "invalidate_when": {"!status": "draft", "team.id": null}, "rewarm": true,
            "dispatcher": "threadpool", "dispatcher_config": {"max_workers": 2}, "batch": true,
            "raise_exception": false
            """
        let configuration = try loadConfiguration(singleRuleDocument(rule))
        let loaded = try #require(configuration.rules.first)
        #expect(loaded.model == "shop.Product")
        #expect(loaded.fieldMapping.map(\.argument) == ["product_id", "team"])
        #expect(loaded.fieldMapping.map(\.segments) == [["id"], ["team", "owner", "id"]])
        #expect(loaded.requireArgs == .only(["product_id"]))
        #expect(loaded.triggerOnCreate)
        #expect(loaded.watchFields == ["price"])
        #expect(loaded.invalidateWhen.map(\.key) == ["!status", "team.id"])
        #expect(loaded.invalidateWhen.map(\.negated) == [true, false])
        #expect(loaded.invalidateWhen.map(\.segments) == [["status"], ["team", "id"]])
        #expect(loaded.invalidateWhen.map(\.expected) == [.string("draft"), .null])
        #expect(loaded.rewarm)
        #expect(loaded.dispatcher == "threadpool")
        #expect(loaded.dispatcherConfig["max_workers"] == .int(2))
        #expect(loaded.batch)
        #expect(loaded.raiseException == false)
        #expect(loaded.functionName == "shop.views.detail")
        #expect(loaded.documentPath == "functions[0].rules[0]")
    }

    @Test func ruleDefaultsApply() throws {
        let configuration = try loadConfiguration(singleRuleDocument(#""model": "a.B""#))
        let loaded = try #require(configuration.rules.first)
        #expect(loaded.fieldMapping.isEmpty)
        #expect(!loaded.triggerOnCreate)
        #expect(loaded.watchFields == nil)
        #expect(loaded.invalidateWhen.isEmpty)
        #expect(!loaded.rewarm)
        #expect(loaded.invalidator == nil)
        #expect(loaded.dispatcher == "inline")
        #expect(loaded.dispatcherConfig.isEmpty)
        #expect(!loaded.batch)
        #expect(loaded.raiseException == nil)
    }

    @Test func keyLayoutIsRead() throws {
        let text = """
            {"functions": [{"name": "f", "recompute": "snapshot",
              "key": {"namespace": "api", "version": 3, "partition": ["team", "owner"], "identifier": "users"}}]}
            """
        let function = try #require(try loadConfiguration(text).functions.first)
        #expect(function.key == CacheKeyLayout(namespace: "api", version: 3, partition: ["team", "owner"], identifier: "users"))
        #expect(function.recompute == "snapshot")
    }

    // MARK: - Files

    @Test func missingFileIsReported() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("absent.json")
        let error = #expect(throws: ConfigurationError.self) { try ConfigurationLoader.load(path: path) }
        #expect(error?.file == path)
        #expect(error?.message == "the configuration file does not exist")
    }

    @Test func folderIsReportedAsAFolder() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let error = #expect(throws: ConfigurationError.self) { try ConfigurationLoader.load(path: directory.path) }
        #expect(error?.file == directory.path)
        #expect(error?.message == "this is a folder, not a configuration file")
        #expect(error?.fix == "Pass the path of the JSON file itself.")
    }

    @Test func fileIsLoadedWithItsPath() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = try directory.write("rules.json", Self.badWatchFields)
        let error = #expect(throws: ConfigurationError.self) { try ConfigurationLoader.load(path: path) }
        #expect(error?.description == "\(path):14: functions[2].rules[0].watch_fields: expected a list of strings, got 3")
    }

    @Test func invalidUTF8IsReported() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("latin1.json")
        try Data([0x7B, 0xE9, 0x7D]).write(to: URL(fileURLWithPath: path))
        let error = #expect(throws: ConfigurationError.self) { try ConfigurationLoader.load(path: path) }
        #expect(error?.message == "the file is not valid UTF-8 text")
    }
}
