import Testing

@testable import Engine

/// Loads a configuration document written in a test.
func loadConfiguration(_ text: String, file: String? = nil) throws -> EngineConfiguration {
    try ConfigurationLoader.parse(text, file: file)
}

/// Returns the error that loading `text` throws. When it loads, records a
/// test issue and returns nil.
func configurationError(
    _ text: String, file: String? = nil, sourceLocation: SourceLocation = #_sourceLocation
) -> ConfigurationError? {
    do {
        _ = try ConfigurationLoader.parse(text, file: file)
        Issue.record("the configuration loaded, but an error was expected", sourceLocation: sourceLocation)
        return nil
    } catch {
        return error
    }
}

/// Returns the error that compiling `text` against `registry` throws. When
/// it compiles, records a test issue and returns nil.
func compileError(
    _ text: String, registry: DispatcherRegistry = .withInProcessDispatchers(),
    invalidators: InvalidatorRegistry = .builtIn, recomputers: RecomputerRegistry = .builtIn,
    sourceLocation: SourceLocation = #_sourceLocation
) -> ConfigurationError? {
    do {
        let configuration = try ConfigurationLoader.parse(text)
        _ = try RuleSet.compile(configuration, registry: registry, invalidators: invalidators, recomputers: recomputers)
        Issue.record("the configuration compiled, but an error was expected", sourceLocation: sourceLocation)
        return nil
    } catch {
        return error
    }
}

/// Loads and compiles a configuration document.
func compileRules(
    _ text: String, registry: DispatcherRegistry = .withInProcessDispatchers(),
    invalidators: InvalidatorRegistry = .builtIn, recomputers: RecomputerRegistry = .builtIn
) throws -> RuleSet {
    try RuleSet.compile(
        ConfigurationLoader.parse(text), registry: registry, invalidators: invalidators, recomputers: recomputers)
}

/// A document with one function `shop.views.detail` whose single rule has
/// the members in `rule` (a JSON object body without braces).
func singleRuleDocument(_ rule: String, settings: String = "{}") -> String {
    """
    {
      "settings": \(settings),
      "functions": [
        {
          "name": "shop.views.detail",
          "rules": [
            {\(rule)}
          ]
        }
      ]
    }
    """
}
