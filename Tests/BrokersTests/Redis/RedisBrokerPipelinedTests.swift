import Engine
import Testing
import TestSupport

@testable import Brokers

/// ``RedisBroker/enqueue(contentsOf:)``: RQ jobs grouped into one
/// transaction per group store what one enqueue per job stores.
@Suite(.redisServer()) struct RedisBrokerPipelinedTests {
    /// 40 RQ tasks with distinct batches: three groups, queues `a` and `b` in turn and one task on `c`.
    static func rqTasks() -> [TaskMessage] {
        (0..<40).map { index in
            var batch = WireFixtures.batch
            batch.id = UInt64(1000 + index)
            batch.dispatcher = "django_rq"
            let queue = index == 21 ? "c" : (index % 2 == 0 ? "a" : "b")
            return BrokerFixtures.task(.rq, queue: queue, batch: batch)
        }
    }

    @Test func groupedJobsMatchSingleEnqueues() throws {
        let server = try suiteServer()
        let grouped = try BrokerFixtures.broker(server, prefix: "job") { $0.rqKeyPrefix = "grouped" }
        let single = try BrokerFixtures.broker(server, prefix: "job") { $0.rqKeyPrefix = "single" }
        let redis = try BrokerFixtures.connection(server)
        let tasks = Self.rqTasks()

        let groupedData = try grouped.enqueue(contentsOf: tasks)
        var singleData: [[UInt8]] = []
        for task in tasks {
            singleData.append(try single.enqueue(task))
        }

        #expect(groupedData == singleData)
        for (queue, count) in [("a", 20), ("b", 19), ("c", 1)] {
            let groupedJobs = try Self.jobsInQueue(redis, prefix: "grouped", queue: queue)
            let singleJobs = try Self.jobsInQueue(redis, prefix: "single", queue: queue)
            #expect(groupedJobs.count == count, "queue \(queue)")
            #expect(groupedJobs == singleJobs, "queue \(queue)")
        }
        // Job by job in queue order: the stored data is each task's, in task order.
        let queueA = try Self.jobsInQueue(redis, prefix: "grouped", queue: "a")
        let expectedA = stride(from: 0, to: 40, by: 2).map { singleData[$0] }
        #expect(queueA.map { Self.field("data", of: $0) } == expectedA)
        #expect(try Self.queueSet(redis, prefix: "grouped") == ["grouped:queue:a", "grouped:queue:b", "grouped:queue:c"])
        #expect(try Self.queueSet(redis, prefix: "single") == ["single:queue:a", "single:queue:b", "single:queue:c"])
    }

    @Test func groupIsOneTransaction() throws {
        // A server of its own, so that no other test's commands are counted.
        let server = try RedisServer()
        defer { server.stop() }
        let broker = try BrokerFixtures.broker(server, prefix: "count")
        let redis = try BrokerFixtures.connection(server)
        let tasks = Self.rqTasks().filter { $0.queue != "c" }
        try redis.execute(RedisCommand("CONFIG", "RESETSTAT"))

        _ = try broker.enqueue(contentsOf: tasks)

        let calls = try Self.commandCalls(redis)
        let groups = (tasks.count + RedisBroker.streamGroupSize - 1) / RedisBroker.streamGroupSize
        #expect(groups == 3)
        #expect(calls["multi"] == groups)
        #expect(calls["exec"] == groups)
        #expect(calls["hset"] == tasks.count)
        // One RPUSH and one SADD per queue and group.
        #expect(calls["rpush"] == groups * 2)
        #expect(calls["sadd"] == groups * 2)
        #expect(try redis.execute(RedisCommand("LLEN", "rq:queue:a")) == .integer(20))
        #expect(try redis.execute(RedisCommand("LLEN", "rq:queue:b")) == .integer(19))
    }

    @Test func wrongKeyTypeRejectsGroup() throws {
        let server = try suiteServer()
        let broker = try BrokerFixtures.broker(server, prefix: "wrongtype") { $0.rqKeyPrefix = "wrongtype" }
        let redis = try BrokerFixtures.connection(server)
        try redis.execute(RedisCommand("SET", "wrongtype:queue:bad", "not a list"))
        let tasks = (0..<5).map { _ in BrokerFixtures.task(.rq, queue: "bad") }

        let error = #expect(throws: BrokerError.self) { try broker.enqueue(contentsOf: tasks) }

        #expect(error?.kind == .rejected)
        #expect(error?.message.contains("WRONGTYPE") == true, "\(error?.message ?? "")")
        #expect(try redis.execute(RedisCommand("GET", "wrongtype:queue:bad")) == .bulk(Array("not a list".utf8)))
    }

    // MARK: - Reading back

    /// Returns the hash fields of each job in a queue, in queue order, as name and value pairs.
    static func jobsInQueue(_ redis: RedisConnection, prefix: String, queue: String) throws -> [[String: [UInt8]]] {
        let ids = try redis.execute(RedisCommand("LRANGE", "\(prefix):queue:\(queue)", 0, -1)).arrayValue ?? []
        return try ids.map { id in
            let items = try redis.execute(RedisCommand("HGETALL", "\(prefix):job:\(id.stringValue ?? "")")).arrayValue ?? []
            var fields: [String: [UInt8]] = [:]
            for index in stride(from: 0, to: items.count - 1, by: 2) {
                fields[items[index].stringValue ?? ""] = items[index + 1].bytesValue ?? []
            }
            return fields
        }
    }

    static func field(_ name: String, of job: [String: [UInt8]]) -> [UInt8] {
        job[name] ?? []
    }

    static func queueSet(_ redis: RedisConnection, prefix: String) throws -> Set<String> {
        Set(try redis.execute(RedisCommand("SMEMBERS", "\(prefix):queues")).arrayValue?.compactMap(\.stringValue) ?? [])
    }

    /// Returns the calls per command name from `INFO commandstats`.
    static func commandCalls(_ redis: RedisConnection) throws -> [String: Int] {
        let info = try redis.execute(RedisCommand("INFO", "commandstats")).stringValue ?? ""
        var calls: [String: Int] = [:]
        // Lines read "cmdstat_hset:calls=40,usec=...".
        for line in info.split(whereSeparator: \.isNewline) where line.hasPrefix("cmdstat_") {
            let parts = line.dropFirst("cmdstat_".count).split(separator: ":", maxSplits: 1)
            guard parts.count == 2, let field = parts[1].split(separator: ",").first, field.hasPrefix("calls=") else { continue }
            calls[String(parts[0])] = Int(field.dropFirst("calls=".count))
        }
        return calls
    }
}
