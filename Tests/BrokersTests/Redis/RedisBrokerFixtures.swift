import Engine
import Synchronization
import TestSupport

@testable import Brokers

/// Brokers with fixed ids and clocks for tests against the suite's server.
enum BrokerFixtures {
    /// 2026-12-04T15:00:00Z.
    static let now: Double = 1_796_396_400

    /// Returns a broker on `server` whose ids count up from `prefix-0001`.
    static func broker(
        _ server: RedisServer, prefix: String, writeMode: Bool = false,
        configure: (inout RedisBrokerSettings) -> Void = { _ in }
    ) throws -> RedisBroker {
        var settings = RedisBrokerSettings(url: try RedisURL(parsing: server.url()), writeMode: writeMode)
        settings.djangoQ = DjangoQSettings(secretKey: "wire-test-secret-key", name: "wireq")
        configure(&settings)
        let counter = Atomic<Int>(0)
        return RedisBroker(
            settings: settings, clock: { now },
            makeID: {
                let next = counter.wrappingAdd(1, ordering: .relaxed).newValue
                let digits = String(next)
                return "\(prefix)-" + String(repeating: "0", count: max(0, 4 - digits.count)) + digits
            })
    }

    /// Returns a raw connection for reading back what the broker wrote.
    static func connection(_ server: RedisServer) throws -> RedisConnection {
        RedisConnection(url: try RedisURL(parsing: server.url()))
    }

    /// Builds the task a broker dispatcher sends for `batch`: restflow's arguments
    /// plus the batch itself under the `dispatchtop` key.
    static func task(_ system: BrokerSystem, queue: String, batch: Batch = WireFixtures.batch) -> TaskMessage {
        let block = JSONValue.object(BatchCoding.encode(batch))
        let ruleIDs = JSONValue.array(batch.restflowRuleIDs.map { .int(Int64($0)) })
        var ruleKwargs = JSONObject()
        for (stable, number) in zip(batch.ruleIDs, batch.restflowRuleIDs) {
            ruleKwargs[String(number)] = batch.ruleKwargs[stable] ?? .null
        }
        switch system {
        case .celery:
            return TaskMessage(
                system: .celery, queue: queue, taskName: "restflow.caching.tasks.task_run_cache_rules", args: [],
                kwargs: WireFixtures.object([
                    "model_label": .string(batch.model), "pk": batch.pk, "rule_ids": ruleIDs,
                    "signal_type": .string(batch.signal.restflowName), "rule_kwargs": .object(ruleKwargs),
                    "dispatchtop": block,
                ]), batch: batch)
        case .rq, .djangoQ:
            return TaskMessage(
                system: system, queue: queue, taskName: "restflow.caching.tasks.run_cache_rules",
                args: [ruleIDs, .object(ruleKwargs)],
                kwargs: WireFixtures.object(["dispatcher_name": .string(system.rawValue), "context": ["dispatchtop": block]]),
                batch: batch)
        case .dramatiq:
            return TaskMessage(
                system: .dramatiq, queue: queue, taskName: "restflow.task_run_cache_rules",
                args: [ruleIDs, .object(ruleKwargs)], kwargs: JSONObject(),
                options: WireFixtures.object(["dispatchtop": block]), batch: batch)
        }
    }

    /// Returns every key matching `pattern` with its type and value, to show that probes write nothing.
    static func keyspace(_ redis: RedisConnection, matching pattern: String) throws -> [String: String] {
        var result: [String: String] = [:]
        var cursor = "0"
        repeat {
            let reply = try redis.execute(RedisCommand("SCAN", cursor, "MATCH", pattern, "COUNT", 1000)).arrayValue ?? []
            cursor = reply.first?.stringValue ?? "0"
            for key in reply.last?.arrayValue?.compactMap(\.stringValue) ?? [] {
                let type = try redis.execute(RedisCommand("TYPE", key)).stringValue ?? "?"
                let dump = try redis.execute(RedisCommand("DUMP", key)).bytesValue ?? []
                result[key] = "\(type) \(dump)"
            }
        } while cursor != "0"
        return result
    }
}
