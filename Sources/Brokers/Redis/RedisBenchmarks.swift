import Dispatch
import Engine
import Foundation
import Synchronization

/// Measurements of the Redis broker and cache store, for the benchmark command.
///
/// They run against the Redis at the given URL and write only keys under
/// `dispatchtop-bench` names, which they delete afterwards (outside the
/// timing). Point them at a private server: the figures include whatever
/// else that server is doing.
public enum RedisBenchmarks {
    /// Enqueue throughput of one wire format.
    public struct EnqueueFigures: Sendable, Equatable {
        public var system: BrokerSystem
        public var messages: Int
        /// Tasks sent per pipeline.
        public var pipelineDepth: Int
        public var seconds: Double
        public var messagesPerSecond: Double
        /// Stored bytes of one message (the Celery envelope, the RQ `data`
        /// field, the Dramatiq JSON or the django-q package).
        public var messageBytes: Int
    }

    /// Prefix-drop throughput of the Redis cache store.
    public struct DropFigures: Sendable, Equatable {
        /// Cache entries before the first drop.
        public var keys: Int
        public var drops: Int
        public var threads: Int
        public var seconds: Double
        public var dropsPerSecond: Double
        /// SCAN passes the drops shared.
        public var passes: Int
        public var scanCalls: Int
        public var keysDeleted: Int
    }

    /// Measures enqueueing `messages` restflow tasks of `system` on one
    /// connection, `pipelineDepth` tasks per ``RedisBroker/enqueue(contentsOf:)``
    /// call. That call encodes on two threads and sends groups of 16 tasks,
    /// the RQ jobs of a group in one MULTI/EXEC transaction.
    /// - Parameter timing: called with true just before the first enqueue
    ///   and with false just after the last, so a caller can read CPU
    ///   counters around the timed part only.
    public static func enqueueThroughput(
        url: RedisURL, system: BrokerSystem, messages: Int = 20_000, pipelineDepth: Int = 100,
        timing: (_ starting: Bool) -> Void = { _ in }
    ) throws(BrokerError) -> EnqueueFigures {
        let broker = RedisBroker(settings: benchSettings(url))
        let task = benchTask(system)
        let batch = [TaskMessage](repeating: task, count: max(1, pipelineDepth))
        var sent = 0
        var messageBytes = 0
        timing(true)
        let start = DispatchTime.now().uptimeNanoseconds
        while sent < messages {
            let count = min(batch.count, messages - sent)
            let stored = try broker.enqueue(contentsOf: count == batch.count ? batch : Array(batch.prefix(count)))
            messageBytes = stored.last?.count ?? messageBytes
            sent += count
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        timing(false)
        cleanUp(RedisConnection(url: url), patterns: benchPatterns)
        return EnqueueFigures(
            system: system, messages: sent, pipelineDepth: batch.count, seconds: seconds,
            messagesPerSecond: Double(sent) / max(seconds, 1e-9), messageBytes: messageBytes)
    }

    /// Measures encoding alone: `messages` restflow tasks of `system` turned
    /// into the commands the broker would send, with no server, in thread
    /// CPU seconds so other load on the machine disturbs the figure less.
    /// Returns messages per CPU second and the stored bytes of one message.
    public static func encodeThroughput(system: BrokerSystem, messages: Int = 20_000) throws(BrokerError) -> (
        messagesPerSecond: Double, messageBytes: Int
    ) {
        let broker = RedisBroker(settings: benchSettings(RedisURL(host: "127.0.0.1", port: 1)))
        let task = benchTask(system)
        var bytes = 0
        let start = threadCPUSeconds()
        for _ in 0..<max(1, messages) {
            let encoded = try broker.encode(task)
            bytes = encoded.stored.count
        }
        let seconds = threadCPUSeconds() - start
        return (Double(max(1, messages)) / max(seconds, 1e-9), bytes)
    }

    private static func threadCPUSeconds() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }

    /// Measures prefix drops on a cache of `keys` entries: `drops` drops of
    /// distinct function prefixes (each matching `keys / functions` entries)
    /// issued from `threads` threads at once.
    public static func prefixDropRate(
        url: RedisURL, keys: Int = 10_000, functions: Int = 1000, drops: Int = 200, threads: Int = 4
    ) throws(CacheStoreError) -> DropFigures {
        let store = RedisCacheStore(url: url)
        let functionCount = max(1, functions)
        var writes: [RedisCommand] = []
        writes.reserveCapacity(keys)
        for index in 0..<keys {
            let key = DjangoCacheKey.make(prefix: "dispatchtop-bench", version: 1, key: "fn\(index % functionCount)::pk:\(index)")
            writes.append(RedisCommand("SET", key, "v"))
        }
        do {
            try store.connection.perform([RedisWrite(writes, atomic: false)])
        } catch {
            throw CacheStoreError("Cannot fill the benchmark cache: \(error.message)")
        }
        let before = store.dropStatistics
        let dropCount = min(drops, functionCount)
        let failures = Atomic<Int>(0)
        let next = Atomic<Int>(0)
        // Real threads, as the thread-pool dispatcher uses: concurrentPerform
        // would run only as many iterations at once as there are cores.
        let workers = DispatchGroup()
        let start = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<max(1, threads) {
            workers.enter()
            Thread {
                while true {
                    let function = next.wrappingAdd(1, ordering: .relaxed).oldValue
                    guard function < dropCount else { break }
                    if (try? store.deletePrefix("dispatchtop-bench:1:fn\(function)::")) == nil {
                        failures.wrappingAdd(1, ordering: .relaxed)
                    }
                }
                workers.leave()
            }.start()
        }
        workers.wait()
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let after = store.dropStatistics
        cleanUp(store.connection, patterns: ["dispatchtop-bench:*"])
        guard failures.load(ordering: .relaxed) == 0 else {
            throw CacheStoreError("\(failures.load(ordering: .relaxed)) of \(dropCount) benchmark prefix drops failed.")
        }
        return DropFigures(
            keys: keys, drops: dropCount, threads: max(1, threads), seconds: seconds,
            dropsPerSecond: Double(dropCount) / max(seconds, 1e-9), passes: after.passes - before.passes,
            scanCalls: after.scanCalls - before.scanCalls, keysDeleted: after.keysDeleted - before.keysDeleted)
    }

    // MARK: - Fixtures

    private static let benchPatterns = [
        "dispatchtop-bench:*", "dispatchtop-bench-rq:*", "dispatchtop-bench-dramatiq:*", "django_q:dispatchtop-bench:*",
    ]

    private static func benchSettings(_ url: RedisURL) -> RedisBrokerSettings {
        RedisBrokerSettings(
            url: url, celeryKeyPrefix: "dispatchtop-bench:", rqKeyPrefix: "dispatchtop-bench-rq",
            dramatiqNamespace: "dispatchtop-bench-dramatiq",
            djangoQ: DjangoQSettings(secretKey: "dispatchtop-benchmark-secret", name: "dispatchtop-bench"))
    }

    /// Builds a two-rule restflow task as each broker dispatcher would.
    private static func benchTask(_ system: BrokerSystem) -> TaskMessage {
        var ruleKwargs = JSONObject()
        ruleKwargs["product_detail#1"] = .object(JSONObject([("pk", .int(42))]))
        ruleKwargs["product_list#2"] = .object(JSONObject([("category", .string("books")), ("page", .int(1))]))
        let batch = Batch(
            id: 1, dispatcher: system.dispatcherName, batchKey: system.dispatcherName, model: "shop.product", pk: .int(42),
            signal: .postSave, ruleIDs: ["product_detail#1", "product_list#2"], restflowRuleIDs: [1, 2],
            ruleKwargs: ruleKwargs, createdAt: 1_796_396_400)
        let restflowKwargs = JSONValue.object(
            JSONObject([("1", ruleKwargs["product_detail#1"] ?? .null), ("2", ruleKwargs["product_list#2"] ?? .null)]))
        let ruleIDs: JSONValue = .array([.int(1), .int(2)])
        let block = JSONValue.object(BatchCoding.encode(batch))
        switch system {
        case .celery:
            return TaskMessage(
                system: .celery, queue: "dispatchtop-bench", taskName: "restflow.caching.tasks.task_run_cache_rules",
                args: [],
                kwargs: JSONObject([
                    ("model_label", .string(batch.model)), ("pk", batch.pk), ("rule_ids", ruleIDs),
                    ("signal_type", .string(batch.signal.restflowName)), ("rule_kwargs", restflowKwargs),
                    (TaskPayload.blockKey, block),
                ]), batch: batch)
        case .rq, .djangoQ:
            return TaskMessage(
                system: system, queue: "dispatchtop-bench", taskName: "restflow.caching.tasks.run_cache_rules",
                args: [ruleIDs, restflowKwargs],
                kwargs: JSONObject([
                    ("dispatcher_name", .string(system.dispatcherName)),
                    ("context", .object(JSONObject([(TaskPayload.blockKey, block)]))),
                ]), batch: batch)
        case .dramatiq:
            return TaskMessage(
                system: .dramatiq, queue: "dispatchtop-bench", taskName: "restflow.task_run_cache_rules",
                args: [ruleIDs, restflowKwargs], kwargs: JSONObject(),
                options: JSONObject([(TaskPayload.blockKey, block)]), batch: batch)
        }
    }

    /// Deletes the benchmark's keys: SCAN MATCH each pattern and UNLINK what it finds.
    private static func cleanUp(_ connection: RedisConnection, patterns: [String]) {
        for pattern in patterns {
            var cursor = "0"
            repeat {
                guard let reply = try? connection.execute(RedisCommand("SCAN", cursor, "MATCH", pattern, "COUNT", 1000)),
                    let parts = reply.arrayValue, parts.count == 2, let next = parts[0].stringValue
                else { return }
                let keys = parts[1].arrayValue?.compactMap(\.bytesValue) ?? []
                if !keys.isEmpty {
                    _ = try? connection.execute(RedisCommand(arguments: [Array("UNLINK".utf8)] + keys))
                }
                cursor = next
            } while cursor != "0"
        }
    }
}
