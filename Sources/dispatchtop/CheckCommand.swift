import Brokers
import Engine
import Foundation

/// `dispatchtop check`: validate a configuration and print what it registers.
enum CheckCommand {
    static func run(_ raw: [String]) throws -> Int32 {
        let arguments = try Arguments(raw, command: "check", valued: ["--config"], flags: [])
        if arguments.wantsHelp {
            print(HelpText.check)
            return 0
        }
        try arguments.rejectPositional()
        guard let path = arguments.value("--config") else {
            throw UsageError(message: "check needs --config FILE.", command: "check")
        }
        let configuration = try ConfigurationLoader.load(path: path)
        let registry = try DispatcherCatalog.registry()
        let rules = try RuleSet.compile(configuration, registry: registry)
        // The broker settings are read as a Redis broker would read them, so
        // a mistake there shows now, not on the first run against Redis.
        let brokerSettings = try RedisBrokerOptions.read(configuration, url: RedisURL(host: "127.0.0.1"))
        print(describe(rules, path: path))
        let usesDjangoQ = configuration.rules.contains { $0.dispatcher == BrokerSystem.djangoQ.dispatcherName }
        if usesDjangoQ && (brokerSettings.djangoQ.secretKey ?? "").isEmpty {
            print("")
            print("Note: django_q rules need settings.brokers.django_q.secret_key (or secret_key_env) to run with --broker redis://...; the embedded broker does not.")
        }
        return 0
    }

    static func describe(_ rules: RuleSet, path: String) -> String {
        let configuration = rules.configuration
        let counts = [
            plural(configuration.functions.count, "function"), plural(configuration.rules.count, "rule"),
            plural(rules.models.count, "model"),
        ]
        var lines = ["\(path): valid. \(counts.joined(separator: ", "))."]
        lines.append("")
        lines.append("Default dispatcher: \(configuration.settings.defaultDispatcher); raise_exception: \(configuration.settings.raiseException)")
        for (index, function) in configuration.functions.enumerated() {
            let layout = function.key
            var header = "\(function.name)  key \(layout.namespace.isEmpty ? "" : layout.namespace + "::")…  version \(layout.version)"
            if !layout.partition.isEmpty { header += "  partition \(layout.partition.joined(separator: ", "))" }
            if let recompute = function.recompute { header += "  recompute \(recompute)" }
            lines.append("")
            lines.append(header)
            for (ruleIndex, rule) in configuration.rules.enumerated() where rule.functionIndex == index {
                let dispatcher = rules.dispatchers[ruleIndex]
                var line = "  #\(rule.restflowID) \(rule.id)  on \(rule.model)  -> \(rule.dispatcher)"
                line += rule.batch && dispatcher.supportsBatching ? " (batched: \(dispatcher.batchKey))" : " (own call)"
                var traits: [String] = []
                if !rule.fieldMapping.isEmpty {
                    traits.append("args " + rule.fieldMapping.map { "\($0.argument)=\($0.path)" }.joined(separator: ","))
                }
                if let invalidator = rule.invalidator { traits.append("invalidator \(invalidator)") }
                if rule.triggerOnCreate { traits.append("on create") }
                if let watch = rule.watchFields { traits.append("watch " + watch.joined(separator: ",")) }
                if !rule.invalidateWhen.isEmpty {
                    traits.append("when " + rule.invalidateWhen.map { "\($0.key)=\(JSONWriter.string($0.expected))" }.joined(separator: ","))
                }
                if rule.rewarm { traits.append("rewarm") }
                if let raise = rule.raiseException { traits.append("raise_exception \(raise)") }
                lines.append(line)
                if !traits.isEmpty { lines.append("      " + traits.joined(separator: "; ")) }
            }
        }
        return lines.joined(separator: "\n")
    }
}

/// "1 rule", "2 rules".
func plural(_ count: Int, _ noun: String) -> String {
    "\(count) \(noun)\(count == 1 ? "" : "s")"
}

/// `dispatchtop dispatchers`: the registered names with their merged settings.
enum DispatchersCommand {
    static func run(_ raw: [String]) throws -> Int32 {
        let arguments = try Arguments(raw, command: "dispatchers", valued: ["--config"], flags: [])
        if arguments.wantsHelp {
            print(HelpText.dispatchers)
            return 0
        }
        try arguments.rejectPositional()
        let path = try arguments.value("--config") ?? DemoAssets.configPath()
        let configuration = try ConfigurationLoader.load(path: path)
        let rules = try RuleSet.compile(configuration, registry: try DispatcherCatalog.registry())
        for name in rules.registeredDispatcherNames {
            guard let dispatcher = rules.dispatchersByName[name] else { continue }
            let used = configuration.rules.filter { $0.dispatcher == name }.count
            print("\(name)")
            print("  runs on:  \(dispatcher.runsOn)")
            print("  batching: \(dispatcher.supportsBatching ? "yes, key \(dispatcher.batchKey)" : "no")")
            print("  settings: \(JSONWriter.string(.object(dispatcher.resolvedOptions.sortedByKey())))")
            print("  rules:    \(used)")
        }
        return 0
    }
}
