import Console
import Engine
import Foundation

/// Runs the benchmarks named on the command line (all when none) and prints
/// one line per figure.
enum BenchmarkMain {
    static let all = [
        "evaluate", "inline-memory", "cache-drop", "run-command", "memory", "embedded-broker", "wire-encode", "redis",
        "render",
    ]

    /// Benchmarks run only when named, for profiling one case under callgrind or perf, or for CPU accounting.
    static let namedOnly = ["wire-encode-rq", "redis-cpu", "redis-cpu-rq"]

    static func run(_ arguments: [String]) -> Int32 {
        let names = arguments.isEmpty ? all : arguments
        print("dispatchtop-bench on \(ProcessInfo.processInfo.activeProcessorCount) cores, \(hostDescription())")
        for name in names {
            do {
                switch name {
                case "evaluate": try evaluate()
                case "inline-memory": try inlineMemory()
                case "cache-drop": cacheDrop()
                case "run-command": try runCommand()
                case "memory": try residentMemory()
                case "embedded-broker": try BrokerBenchmarks.embedded()
                case "wire-encode": try BrokerBenchmarks.wireEncode()
                case "wire-encode-rq": try BrokerBenchmarks.wireEncode(systems: [.rq])
                case "redis": try BrokerBenchmarks.redis()
                case "redis-cpu": try BrokerBenchmarks.redisCPU()
                case "redis-cpu-rq": try BrokerBenchmarks.redisCPU(systems: [.rq], rounds: 5)
                case "render":
                    for (width, height) in [(200, 60), (80, 24)] {
                        print(try RenderBenchmark.run(width: width, height: height, failures: 10_000))
                    }
                default:
                    print("unknown benchmark '\(name)'; known: \((all + namedOnly).joined(separator: ", "))")
                    return 2
                }
            } catch {
                print("\(name): failed: \(error)")
                return 1
            }
        }
        return 0
    }

    /// Engine evaluation with a dispatcher that does no work, on one thread.
    static func evaluate() throws {
        for batch in [false, true] {
            let engine = try makeEngine(dispatcher: NoWorkDispatcher.registeredName, batch: batch)
            let events = (0..<1000).map { Workload.event(pk: $0 + 1) }
            let count = scaled(2_000_000)
            let seconds = time {
                for index in 0..<count {
                    engine.process(events[index % events.count])
                }
            }
            let dispatches = engine.snapshot().events.dispatches
            report(
                "evaluate (no-work dispatcher, batch \(batch))", events: count, seconds: seconds,
                extra: "\(dispatches / UInt64(count)) dispatch calls per event")
        }
    }

    /// The inline dispatcher dropping entries from the embedded memory cache.
    static func inlineMemory() throws {
        let cache = MemoryCacheStore()
        let engine = try makeEngine(dispatcher: "inline", batch: false, cache: cache)
        let records = 1000
        fill(cache, records: records)
        let events = (0..<records).map { Workload.event(pk: $0 + 1) }
        let count = scaled(1_000_000)
        var seconds = 0.0
        for _ in 0..<(count / records) {
            fill(cache, records: records)
            seconds += time {
                for event in events { engine.process(event) }
            }
        }
        report(
            "inline + memory cache drop", events: count, seconds: seconds,
            extra: "each event drops 7 partitions holding keys; refilling the cache between rounds is not timed")
    }

    /// The memory cache alone: dropping one partition's prefix.
    static func cacheDrop() {
        let cache = MemoryCacheStore()
        var prefixes: [String] = []
        for record in 1...1000 {
            for index in 0..<7 { prefixes.append(":1:bench::bench.views.view_\(index)::item_id:\(record)::") }
        }
        var seconds = 0.0
        let rounds = 50
        for _ in 0..<rounds {
            fill(cache, records: 1000)
            seconds += time {
                for prefix in prefixes { _ = try? cache.deletePrefix(prefix) }
            }
        }
        report("memory cache prefix drop", events: prefixes.count * rounds, seconds: seconds, unit: "drops/s", extra: "10,000 keys, each drop removes one key")
    }

    /// `dispatchtop run` over a JSON Lines file, as a separate process.
    static func runCommand() throws {
        let folder = NSTemporaryDirectory() + "dispatchtop-bench-\(getpid())"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let count = 500_000
        var text = ""
        text.reserveCapacity(count * 120)
        for index in 0..<count { text += Workload.line(pk: index % 1000 + 1) + "\n" }
        try text.write(toFile: folder + "/events.jsonl", atomically: true, encoding: .utf8)
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("dispatchtop").path
        for (dispatcher, batch) in [("inline", false), ("threadpool", true)] {
            let config = try configJSON(dispatcher: dispatcher, batch: batch)
            try config.write(toFile: folder + "/config.json", atomically: true, encoding: .utf8)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = ["run", "--config", folder + "/config.json", "--events", folder + "/events.jsonl", "--journal", folder + "/journal-\(dispatcher).sqlite3"]
            process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
            process.standardError = FileHandle(forWritingAtPath: "/dev/null")
            let cpuBefore = childrenCPUSeconds()
            let wallStart = Date()
            try process.run()
            process.waitUntilExit()
            let wall = Date().timeIntervalSince(wallStart)
            let seconds = childrenCPUSeconds() - cpuBefore
            guard process.terminationStatus == 0 else {
                throw BenchError(message: "dispatchtop run exited with \(process.terminationStatus)")
            }
            let calls = batch ? 1 : 7
            report(
                "dispatchtop run (\(dispatcher), \(calls) output lines per event)", events: count, seconds: seconds,
                unit: "lines/s",
                extra: String(format: "CPU time of the whole process: start, read, evaluate, write JSON Lines to /dev/null; %.3f s wall", wall))
        }
    }

    /// Resident memory after 1,000,000 events through the inline dispatcher.
    static func residentMemory() throws {
        let cache = MemoryCacheStore()
        let engine = try makeEngine(dispatcher: "inline", batch: false, cache: cache)
        fill(cache, records: 1000)
        let before = residentKiB()
        for index in 0..<1_000_000 {
            engine.process(Workload.event(pk: index % 100_000 + 1))
        }
        _ = engine.snapshot()
        let after = residentKiB()
        print(String(format: "resident memory after 1,000,000 events: %.1f MiB (%.1f MiB before the events)", Double(after) / 1024, Double(before) / 1024))
    }

    // MARK: - Helpers

    /// `count` divided by `DISPATCHTOP_BENCH_DIVISOR` (default 1), so a run
    /// under valgrind or perf can be shortened; figures are per event, so
    /// they stay comparable, only noisier.
    static func scaled(_ count: Int) -> Int {
        let divisor = ProcessInfo.processInfo.environment["DISPATCHTOP_BENCH_DIVISOR"].flatMap(Int.init) ?? 1
        return max(1000, count / max(1, divisor))
    }

    static func makeEngine(dispatcher: String, batch: Bool, cache: MemoryCacheStore = MemoryCacheStore()) throws -> Engine {
        let registry = DispatcherRegistry.withInProcessDispatchers()
        try registry.register(NoWorkDispatcher.self)
        let rules = try RuleSet.compile(try Workload.configuration(dispatcher: dispatcher, batch: batch), registry: registry)
        return Engine(rules: rules, registry: registry, cache: CacheContext(store: cache), journal: nil)
    }

    static func configJSON(dispatcher: String, batch: Bool) throws -> String {
        var functions: [String] = []
        for index in 0..<Workload.ruleCount {
            let watch = index < Workload.skippedRules ? "[\"stock\"]" : "[\"price\", \"title\"]"
            functions.append(
                "{\"name\": \"bench.views.view_\(index)\", \"key\": {\"namespace\": \"bench\", \"partition\": [\"item_id\"]}, \"rules\": [{\"id\": \"rule-\(index)\", \"model\": \"\(Workload.model)\", \"field_mapping\": {\"item_id\": \"id\"}, \"watch_fields\": \(watch), \"invalidate_when\": {\"!archived\": true}, \"dispatcher\": \"\(dispatcher)\", \"batch\": \(batch)}]}")
        }
        return "{\"functions\": [\(functions.joined(separator: ","))]}"
    }

    static func fill(_ cache: MemoryCacheStore, records: Int) {
        for record in 1...records {
            for index in 0..<Workload.ruleCount {
                try? cache.set(":1:bench::bench.views.view_\(index)::item_id:\(record)::page:1", [1])
            }
        }
    }

    /// CPU seconds the calling thread spends in `body`. Single-threaded
    /// figures use thread CPU time rather than wall time, so other load on
    /// the machine slows them less (it still costs cache misses).
    static func time(_ body: () throws -> Void) rethrows -> Double {
        let start = threadCPUSeconds()
        try body()
        return threadCPUSeconds() - start
    }

    static func threadCPUSeconds() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }

    /// User plus system CPU seconds of finished child processes.
    static func childrenCPUSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_CHILDREN.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
            + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
    }

    static func report(_ name: String, events: Int, seconds: Double, unit: String = "events/s", extra: String) {
        let rate = Double(events) / seconds
        print(String(format: "%@: %.0f %@ (%d in %.3f CPU s; %@)", name, rate, unit, events, seconds, extra))
    }

    static func residentKiB() -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            return Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0
        }
        return 0
    }

    static func hostDescription() -> String {
        let cpu = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?
            .split(separator: "\n").first { $0.hasPrefix("model name") }
            .map { $0.split(separator: ":", maxSplits: 1).last.map { $0.trimmingCharacters(in: .whitespaces) } ?? "" }
        return cpu ?? "unknown CPU"
    }
}

struct BenchError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
