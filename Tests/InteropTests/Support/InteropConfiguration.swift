import Brokers
import Engine
import Foundation

@testable import dispatchtop

/// Builds dispatchtop configurations from the harness's
/// `dispatchtop-config.json`, whose functions and rules match the Django project.
enum InteropConfiguration {
    /// Writes the harness configuration into `folder` and returns the file's path.
    ///
    /// Every rule goes to `dispatcher` unless `dispatchers` names another for
    /// it by stable rule id. `brokers` becomes `settings.brokers`, and
    /// `ruleConfig` the `dispatcher_config` of the rules it names.
    static func write(
        to folder: String, dispatcher: String, brokers: JSONObject = JSONObject(), dispatchers: [String: String] = [:],
        ruleConfig: [String: JSONObject] = [:], name: String = "dispatchtop.json"
    ) throws -> String {
        let text = try String(contentsOfFile: InteropHarness.configuration, encoding: .utf8)
        guard var root = try JSONParser.parse(text).objectValue, var settings = root["settings"]?.objectValue,
            let functions = root["functions"]?.arrayValue
        else {
            throw InteropSetupError("\(InteropHarness.configuration) has no settings or functions.")
        }
        settings["brokers"] = .object(brokers)
        root["settings"] = .object(settings)
        root["functions"] = .array(
            functions.map { assign(dispatcher, dispatchers: dispatchers, ruleConfig: ruleConfig, in: $0) })

        let path = "\(folder)/\(name)"
        try JSONWriter.string(.object(root)).write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    private static func assign(
        _ dispatcher: String, dispatchers: [String: String], ruleConfig: [String: JSONObject], in function: JSONValue
    ) -> JSONValue {
        guard var object = function.objectValue, let rules = object["rules"]?.arrayValue else { return function }
        object["rules"] = .array(
            rules.map { rule in
                guard var rule = rule.objectValue else { return rule }
                let id = rule["id"]?.stringValue ?? ""
                rule["dispatcher"] = .string(dispatchers[id] ?? dispatcher)
                if let config = ruleConfig[id] {
                    rule["dispatcher_config"] = .object(config)
                }
                return .object(rule)
            })
        return .object(object)
    }

    /// Returns the `settings.brokers` block that matches the Django project's
    /// settings for `system`: key prefixes, the RQ timeout and serializer, and
    /// django-q2's secret key, cluster name and database.
    static func brokers(for system: String, databasePath: String = "", rqSerializer: String = "pickle") -> JSONObject {
        let block: JSONValue
        switch system {
        case "celery":
            block = ["global_keyprefix": ""]
        case "django_rq":
            // RQ_QUEUES gives every queue DEFAULT_TIMEOUT 60.
            block = ["key_prefix": "rq", "serializer": .string(rqSerializer), "timeout": 60]
        case "dramatiq":
            block = ["namespace": "dramatiq"]
        default:
            block = [
                "secret_key": .string(InteropHarness.secretKey), "name": .string(InteropHarness.djangoQName),
                "database": .string(databasePath),
            ]
        }
        return JSONObject([(system, block)])
    }

    /// Builds a Redis broker from a configuration file the way the executable
    /// does (`settings.brokers` read by its own code), probing `queues` from the start.
    static func broker(
        configurationPath: String, redisURL: String, watching queues: [QueueReference], writeMode: Bool = false
    ) throws -> RedisBroker {
        let configuration = try ConfigurationLoader.load(path: configurationPath)
        var settings = try RedisBrokerOptions.read(configuration, url: RedisURL(parsing: redisURL))
        settings.writeMode = writeMode
        settings.watchedQueues = queues
        return RedisBroker(settings: settings)
    }
}
