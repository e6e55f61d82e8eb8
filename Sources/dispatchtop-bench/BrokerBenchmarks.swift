import Brokers
import Engine
import Foundation

/// Broker figures: the embedded broker end to end, and each Redis wire
/// format's enqueue rate beside `redis-benchmark` LPUSH of the same size.
enum BrokerBenchmarks {
    static func embedded() throws {
        for system in BrokerSystem.allCases {
            let result = try EmbeddedBrokerBenchmark.measure(batches: 20_000, system: system)
            print(
                String(
                    format: "embedded broker %@: %.0f batches/s enqueue to done (%d batches, %.2f s wall, %d consumers); latency p50 %@, p99 %@, max %@",
                    system.rawValue, result.batchesPerSecond, result.batches, result.seconds, result.consumersPerSystem,
                    SnapshotFormat.micros(result.latencyP50), SnapshotFormat.micros(result.latencyP99),
                    SnapshotFormat.micros(result.latencyMax)))
        }
    }

    /// Measures the encoder of each of `systems` alone, on one thread, with no server.
    static func wireEncode(systems: [BrokerSystem] = BrokerSystem.allCases) throws {
        for system in systems {
            let figures: (messagesPerSecond: Double, messageBytes: Int)
            do {
                figures = try RedisBenchmarks.encodeThroughput(system: system, messages: BenchmarkMain.scaled(50_000))
            } catch {
                throw BenchError(message: "encode \(system.rawValue): \(error)")
            }
            print(
                String(
                    format: "wire encode %@: %.0f messages/s (messages of %d bytes, thread CPU time, no server)",
                    system.rawValue, figures.messagesPerSecond, figures.messageBytes))
        }
    }

    static func redis() throws {
        let server = try PrivateRedis.start()
        defer { server.stop() }
        let url = RedisURL(host: "127.0.0.1", port: server.port)
        for system in BrokerSystem.allCases {
            let figures = try EnqueueRun.measure(url: url, system: system)
            let reference = try server.lpushRate(valueSize: figures.messageBytes)
            print(
                String(
                    format: "redis enqueue %@: %.0f messages/s (%d messages of %d bytes, %d per pipeline, one connection); redis-benchmark LPUSH -d %d -P 16 -c 1: %.0f/s; ratio %.2f",
                    system.rawValue, figures.messagesPerSecond, figures.messages, figures.messageBytes, figures.pipelineDepth,
                    figures.messageBytes, reference, figures.messagesPerSecond / reference))
        }
        try engineDrops(url: url)
        try engineDropsMixed(url: url)
        for threads in [1, 4, 16] {
            let drops = try DropRun.measure(url: url, threads: threads)
            print(
                String(
                    format: "redis cache prefix drop, %d keys, %d threads: %.0f drops/s (%d drops in %.2f s, %d SCAN passes, %d keys deleted)",
                    drops.keys, drops.threads, drops.dropsPerSecond, drops.drops, drops.seconds, drops.passes, drops.keysDeleted))
        }
    }
}

extension BrokerBenchmarks {
    /// Prints each Redis wire format's enqueue rate, `rounds` times each,
    /// with the CPU time and scheduler waits per message of this process
    /// and of redis-server during the timed part.
    static func redisCPU(systems: [BrokerSystem] = BrokerSystem.allCases, rounds: Int = 3) throws {
        let server = try PrivateRedis.start()
        defer { server.stop() }
        let url = RedisURL(host: "127.0.0.1", port: server.port)
        let serverPID = server.process.processIdentifier
        for system in systems {
            for _ in 0..<rounds {
                var ours = SchedulerCounters()
                var theirs = SchedulerCounters()
                var machine = 0
                let figures: RedisBenchmarks.EnqueueFigures
                do {
                    figures = try RedisBenchmarks.enqueueThroughput(
                        url: url, system: system, messages: 50_000, pipelineDepth: 100
                    ) { starting in
                        let now = (SchedulerCounters.read(pid: getpid()), SchedulerCounters.read(pid: serverPID))
                        if starting {
                            (ours, theirs) = now
                            machine = SchedulerCounters.machineBusy()
                        } else {
                            (ours, theirs) = (now.0.since(ours), now.1.since(theirs))
                            machine = SchedulerCounters.machineBusy() - machine
                        }
                    }
                } catch {
                    throw BenchError(message: "enqueue \(system.rawValue): \(error)")
                }
                let messages = Double(figures.messages)
                let calls = messages / Double(figures.pipelineDepth)
                let wall = figures.seconds * 1e9
                let busiest = ours.runningByThread.values.sorted(by: >).prefix(3).map { String(format: "%.2f", Double($0) / messages / 1000) }
                print(
                    String(
                        format: "redis enqueue cpu %@: %.0f messages/s; per message: ours %.2f µs CPU (threads %@) + %.2f µs waiting for a CPU, redis-server %.2f µs CPU + %.2f µs waiting; redis-server busy %.0f %% of wall, both %.2f of %d cores, other processes %.2f; per call: ours %.1f voluntary / %.1f involuntary switches, redis-server %.1f / %.1f",
                        system.rawValue, figures.messagesPerSecond, Double(ours.running) / messages / 1000,
                        busiest.joined(separator: "/"), Double(ours.waitingForCPU) / messages / 1000,
                        Double(theirs.running) / messages / 1000, Double(theirs.waitingForCPU) / messages / 1000,
                        Double(theirs.running) / wall * 100, Double(ours.running + theirs.running) / wall,
                        ProcessInfo.processInfo.activeProcessorCount,
                        max(0, Double(machine - ours.running - theirs.running) / wall),
                        Double(ours.voluntarySwitches) / calls, Double(ours.involuntarySwitches) / calls,
                        Double(theirs.voluntarySwitches) / calls, Double(theirs.involuntarySwitches) / calls))
            }
        }
    }

    /// Measures events through the engine with every rule on the
    /// thread-pool dispatcher, batched, dropping partitions of a Redis cache.
    /// Each event is one batch of seven drops, sent to the store in one call.
    static func engineDrops(url: RedisURL) throws {
        let store = RedisCacheStore(url: url)
        let records = 1000
        var writes: [RedisCommand] = []
        for record in 1...records {
            for index in 0..<Workload.ruleCount {
                writes.append(RedisCommand("SET", ":1:bench::bench.views.view_\(index)::item_id:\(record)::page:1", "v"))
            }
        }
        do {
            try store.connection.perform([RedisWrite(writes, atomic: false)])
        } catch {
            throw BenchError(message: "cannot fill the Redis cache: \(error)")
        }

        let registry = DispatcherRegistry.withInProcessDispatchers()
        let rules = try RuleSet.compile(try Workload.configuration(dispatcher: "threadpool", batch: true), registry: registry)
        let engine = Engine(rules: rules, registry: registry, cache: CacheContext(store: store), journal: nil)
        let start = Date()
        for record in 1...records {
            engine.process(Workload.event(pk: record))
        }
        guard engine.waitUntilIdle(timeout: 300) else {
            throw BenchError(message: "the engine did not finish the Redis drops within 300 s")
        }
        let seconds = Date().timeIntervalSince(start)

        let figures = store.dropStatistics
        let failed = engine.snapshot().dispatchers.reduce(UInt64(0)) { $0 + $1.failed }
        let expected = records * (Workload.ruleCount - Workload.skippedRules)
        guard failed == 0, figures.keysDeleted == expected else {
            throw BenchError(message: "Redis drops through the engine: \(failed) failed batches, \(figures.keysDeleted) keys deleted, expected \(expected)")
        }
        _ = try? store.connection.execute(RedisCommand("FLUSHDB"))
        print(
            String(
                format: "redis cache drops through the engine: %.0f events/s (%d events, threadpool dispatcher with %d threads, batch: true, 7 drops per event in one batch, %d keys at the start, %d deleted, %.2f s wall, %d SCAN passes, %d SCAN calls)",
                Double(records) / seconds, records, ThreadPoolDispatcher.defaultMaxWorkers, records * Workload.ruleCount,
                figures.keysDeleted, seconds, figures.passes, figures.scanCalls))
    }
}

extension BrokerBenchmarks {
    /// Measures events through the engine, six batched rules on the thread
    /// pool, on a cache whose functions' prefixes differ early (see
    /// ``MixedCacheWorkload``), and checks that exactly the keys under the
    /// dropped prefixes are gone.
    static func engineDropsMixed(url: RedisURL) throws {
        let store = RedisCacheStore(url: url)
        let keys = MixedCacheWorkload.keys()
        do {
            try store.connection.perform([RedisWrite(keys.map { RedisCommand("SET", $0, "v") }, atomic: false)])
        } catch {
            throw BenchError(message: "cannot fill the Redis cache: \(error)")
        }

        let registry = DispatcherRegistry.withInProcessDispatchers()
        let rules = try RuleSet.compile(try MixedCacheWorkload.configuration(), registry: registry)
        let engine = Engine(
            rules: rules, registry: registry, cache: CacheContext(store: store, keyPrefix: MixedCacheWorkload.keyPrefix),
            journal: nil)
        let (events, prefixes) = MixedCacheWorkload.events(count: 1000)
        let start = Date()
        for event in events {
            engine.process(event)
        }
        guard engine.waitUntilIdle(timeout: 300) else {
            throw BenchError(message: "the engine did not finish the mixed Redis drops within 300 s")
        }
        let seconds = Date().timeIntervalSince(start)

        let figures = store.dropStatistics
        let expected = keys.filter { key in prefixes.contains { key.hasPrefix($0) } }.count
        let remaining = store.entryCount ?? -1
        _ = try? store.connection.execute(RedisCommand("FLUSHDB"))
        guard figures.keysDeleted == expected, remaining == keys.count - expected else {
            throw BenchError(
                message: "mixed Redis drops: \(figures.keysDeleted) keys deleted and \(remaining) left, expected \(expected) deleted of \(keys.count)")
        }
        print(
            String(
                format: "redis cache drops through the engine, mixed layout: %.0f events/s (%d events, 6 batched rules on a thread pool of 4, %d keys at the start, %d deleted, %.2f s wall, %d SCAN passes, %d SCAN calls, %d keys returned)",
                Double(events.count) / seconds, events.count, keys.count, figures.keysDeleted, seconds, figures.passes,
                figures.scanCalls, figures.keysReturned))
    }
}

/// Wraps the typed-throws measurement so the caller can use plain `try`.
private enum EnqueueRun {
    static func measure(url: RedisURL, system: BrokerSystem) throws -> RedisBenchmarks.EnqueueFigures {
        do {
            return try RedisBenchmarks.enqueueThroughput(url: url, system: system, messages: 50_000, pipelineDepth: 100)
        } catch {
            throw BenchError(message: "enqueue \(system.rawValue): \(error)")
        }
    }
}

private enum DropRun {
    static func measure(url: RedisURL, threads: Int) throws -> RedisBenchmarks.DropFigures {
        do {
            return try RedisBenchmarks.prefixDropRate(url: url, keys: 10_000, functions: 1000, drops: 400, threads: threads)
        } catch {
            throw BenchError(message: "prefix drop: \(error)")
        }
    }
}

/// A redis-server on a free loopback port for the benchmark, stopped by its pid.
struct PrivateRedis {
    let port: Int
    let folder: String
    let process: Process

    static func start() throws -> PrivateRedis {
        let folder = NSTemporaryDirectory() + "dispatchtop-bench-redis-\(getpid())"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let port = Int.random(in: 40_000...60_000)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/redis-server")
        process.arguments = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", folder]
        process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        try process.run()
        let server = PrivateRedis(port: port, folder: folder, process: process)
        for _ in 0..<100 {
            if (try? server.cli(["PING"])) == "PONG" { return server }
            usleep(50_000)
        }
        server.stop()
        throw BenchError(message: "redis-server on port \(port) did not answer PING")
    }

    func stop() {
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        try? FileManager.default.removeItem(atPath: folder)
    }

    func cli(_ arguments: [String]) throws -> String {
        try run("/usr/bin/redis-cli", ["-p", String(port)] + arguments)
    }

    /// `redis-benchmark -t lpush -d SIZE -P 16 -c 1`, requests per second.
    func lpushRate(valueSize: Int) throws -> Double {
        let output = try run(
            "/usr/bin/redis-benchmark",
            ["-p", String(port), "-t", "lpush", "-d", String(valueSize), "-P", "16", "-c", "1", "-n", "200000", "-q"])
        // "LPUSH: 123456.79 requests per second, p50=0.063 msec"
        guard let range = output.range(of: "LPUSH: ", options: .backwards),
            let rate = Double(output[range.upperBound...].prefix { $0.isNumber || $0 == "." })
        else { throw BenchError(message: "cannot read redis-benchmark output: \(output)") }
        _ = try cli(["DEL", "mylist"])
        return rate
    }

    private func run(_ executable: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

/// Formatting shared by the benchmark lines.
enum SnapshotFormat {
    static func micros(_ value: UInt64) -> String {
        if value < 1000 { return "\(value) µs" }
        if value < 1_000_000 { return String(format: "%.1f ms", Double(value) / 1000) }
        return String(format: "%.2f s", Double(value) / 1_000_000)
    }
}
