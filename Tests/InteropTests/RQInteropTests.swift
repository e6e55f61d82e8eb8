import Brokers
import Engine
import Testing

/// dispatchtop's RQ jobs in pickle, RQ's default serializer, consumed by
/// django-rq's `manage.py rqworker`.
@Suite(.serialized, .producerCheck(.rqPickle))
struct RQPickleInteropTests {
    @Test func dispatchesFourBatchesAsSent() throws {
        try ProducerCheck.require().expectFourBatchesSent()
    }

    @Test func rqDecodesQueuedJobs() throws {
        try ProducerCheck.require().expectLibraryDecodesQueuedMessages()
    }

    @Test func workerDropsExactlyInvalidatedKeys() throws {
        try ProducerCheck.require().expectExactKeysDropped()
    }

    @Test func failedJobIsRequeuedAndRunsAgain() throws {
        try RQFailedJobCheck.run(try ProducerCheck.require())
    }
}

/// The same with `rq.serializers.JSONSerializer` on both sides: dispatchtop's
/// `django_rq.serializer` setting and the worker's `--serializer` option.
@Suite(.serialized, .producerCheck(.rqJSON))
struct RQJSONInteropTests {
    @Test func dispatchesFourBatchesAsSent() throws {
        try ProducerCheck.require().expectFourBatchesSent()
    }

    @Test func rqDecodesQueuedJSONJobs() throws {
        let check = try ProducerCheck.require()
        try check.expectLibraryDecodesQueuedMessages()
        let id = try #require(check.queuedMessages().first?["id"]?.stringValue)
        let data = try #require(try check.site.hashField(RQJob.jobKey(id), "data"))
        let call = try Zlib.decompress(data)
        let text = String(decoding: call, as: UTF8.self)
        #expect(call.first == UInt8(ascii: "["), "JSON job data starts with '[': \(text)")
    }

    @Test func workerDropsExactlyInvalidatedKeys() throws {
        try ProducerCheck.require().expectExactKeysDropped()
    }

    @Test func failedJobIsRequeuedAndRunsAgain() throws {
        try RQFailedJobCheck.run(try ProducerCheck.require())
    }
}

/// Finds rule 5's failed job through dispatchtop's probes, requeues it as
/// the console does, and lets the worker run it again.
enum RQFailedJobCheck {
    static func run(_ check: ProducerCheck) throws {
        try check.expectOneFailureRecorded()
        try #require(check.drained, "\(check.workerLog)")
        let site = check.site
        let reader = try check.broker(writeMode: false)
        let failures = reader.failedMessages(limit: 10)
        try #require(failures.count == 1, "\(failures)")
        let job = failures[0]
        #expect(job.system == .rq)
        #expect(job.queue == "default")
        #expect(job.batch?.ruleIDs == ["supplier-feed-on-supplier"])
        #expect(job.batch?.restflowRuleIDs == [5])
        #expect(job.error?.contains(HarnessExpectations.failureText) == true, "\(job.error ?? "no error")")
        #expect(job.attempts == 1)
        #expect(check.depth(reader)?.failed == 1)
        #expect(check.depth(reader)?.ready == 0)

        // Without write mode, the requeue is refused.
        let refusal = #expect(throws: BrokerError.self) { try reader.requeue(job) }
        #expect(refusal?.kind == .readOnly)

        let jobKey = RQJob.jobKey(job.messageID)
        let before = try jobFields(site, jobKey)
        try check.broker(writeMode: true).requeue(job)
        try expectBackInQueue(check, job: job, before: before, reader: reader)

        let worker = try PythonWorker(check.system.worker, site: site)
        defer { worker.kill() }
        let ranAgain = poll(timeout: 60) {
            try site.count(RedisCommand("XLEN", RQJob.resultsKey(job.messageID))) == 2
                && site.count(RedisCommand("ZCARD", RQJob.registryKey("failed", queue: "default"))) == 1
        }
        let status = worker.stop()
        #expect(ranAgain, "the requeued job did not fail a second time within 60 s\n\(worker.log)")
        #expect(status == 0, "\(worker.log)")
        let again = reader.failedMessages(limit: 10)
        #expect(again.map(\.messageID) == [job.messageID])
        #expect(again.first?.attempts == 2)
    }

    /// Checks that the job id is back in the queue with its stored fields
    /// unchanged but for the status and times, and that RQ decodes it to the
    /// job dispatchtop first queued.
    private static func expectBackInQueue(
        _ check: ProducerCheck, job: FailedMessage, before: [String: [UInt8]], reader: RedisBroker
    ) throws {
        let site = check.site
        #expect(try site.list(RQJob.queueKey("default")) == [Array(job.messageID.utf8)])
        let after = try jobFields(site, RQJob.jobKey(job.messageID))
        #expect(after["data"] == job.body, "data is requeued byte for byte")
        for field in ["data", "origin", "description", "timeout", "created_at"] {
            #expect(after[field] == before[field], "field \(field)")
        }
        #expect(after["status"] == Array("queued".utf8))
        #expect(check.depth(reader)?.ready == 1)
        #expect(check.depth(reader)?.failed == 0)

        let decoded = try site.brokerState("rq", messages: true)["messages"]?.arrayValue ?? []
        let original = try check.queuedMessages().first { $0["id"]?.stringValue == job.messageID }
        #expect(decoded.count == 1)
        #expect(decoded.first == original, "RQ decodes the requeued job as the job first queued")
    }

    /// Returns the fields of a job hash.
    private static func jobFields(_ site: InteropSite, _ key: String) throws -> [String: [UInt8]] {
        let items = try site.reader.execute(RedisCommand("HGETALL", key)).arrayValue ?? []
        var fields: [String: [UInt8]] = [:]
        for index in stride(from: 0, to: items.count - 1, by: 2) {
            if let name = items[index].stringValue { fields[name] = items[index + 1].bytesValue ?? [] }
        }
        return fields
    }
}

/// RQ jobs written by ``RedisBroker/enqueue(contentsOf:)``, which puts the
/// jobs of each group in one transaction, consumed by django-rq's `manage.py rqworker`.
@Suite(.serialized)
struct RQGroupedInteropTests {
    @Test func workerRunsGroupedJobs() throws {
        let site = try InteropSite(name: "rq-grouped")
        defer { site.stop() }
        let filledKeys = try site.fillCache()
        let configuration = try InteropConfiguration.write(
            to: site.folder.path, dispatcher: "django_rq", brokers: InteropConfiguration.brokers(for: "django_rq"))

        // dispatchtop run queues the harness's four dispatches one job at a time.
        let dispatch = try DispatchtopCommand.run([
            "run", "--config", configuration, "--events", InteropHarness.events, "--broker", site.redisURL,
            "--journal", site.folder.file("journal.sqlite3"),
        ])
        #expect(dispatch.outcomes == ["sent", "sent", "sent", "sent"], "\(dispatch.transcript)")
        let queued = try Self.takeQueuedJobs(site)
        try #require(queued.count == 4)

        // The same four tasks, ten times over, go out again in groups: 40 jobs in three transactions.
        let broker = try InteropConfiguration.broker(
            configurationPath: configuration, redisURL: site.redisURL, watching: [QueueReference(.rq, "default")])
        let tasks = (0..<10).flatMap { _ in queued.map(\.task) }
        let stored = try broker.enqueue(contentsOf: tasks)

        #expect(stored.count == 40)
        #expect(Array(stored.prefix(4)) == queued.map(\.data), "a grouped job stores the data a single enqueue stores")
        #expect(try site.count(RedisCommand("LLEN", RQJob.queueKey("default"))) == 40)
        let decoded = try site.brokerState("rq", messages: true)["messages"]?.arrayValue ?? []
        let ruleIDs = decoded.map(InteropSystem.restflowRuleIDs(ofDecoded:))
        let expectedRuleIDs = (0..<10).flatMap { _ in HarnessExpectations.restflowRuleIDs }
        #expect(ruleIDs == expectedRuleIDs, "RQ decodes the grouped jobs in queue order")

        let worker = try PythonWorker(.rqworker, site: site)
        defer { worker.kill() }
        let drained = poll(timeout: 120) {
            try site.count(RedisCommand("LLEN", RQJob.queueKey("default"))) == 0
                && site.count(RedisCommand("ZCARD", RQJob.registryKey("finished", queue: "default"))) == 30
                && site.count(RedisCommand("ZCARD", RQJob.registryKey("failed", queue: "default"))) == 10
        }
        let status = worker.stop()
        #expect(drained, "the worker did not finish 30 jobs and fail 10 (rule 5) within 120 s\n\(worker.log)")
        #expect(status == 0, "\(worker.log)")
        #expect(filledKeys.count == HarnessExpectations.filledKeyCount)
        #expect(try site.cacheKeys() == HarnessExpectations.survivingKeys)
    }

    /// Reads the jobs waiting in the `default` queue back as tasks with
    /// their stored `data`, then deletes them and the queue.
    private static func takeQueuedJobs(_ site: InteropSite) throws -> [(task: TaskMessage, data: [UInt8])] {
        let ids = try site.list(RQJob.queueKey("default")).map { String(decoding: $0, as: UTF8.self) }
        let jobs = try ids.map { id -> (task: TaskMessage, data: [UInt8]) in
            let data = try #require(try site.hashField(RQJob.jobKey(id), "data"))
            let decoded = try RQJob.decode(id: id, data: data, origin: "default")
            let task = TaskMessage(
                system: .rq, queue: "default", taskName: decoded.taskName, args: decoded.args, kwargs: decoded.kwargs,
                batch: try TaskPayload.batch(from: decoded))
            return (task, data)
        }
        let keys = [RQJob.queueKey("default")] + ids.map { RQJob.jobKey($0) }
        try site.reader.execute(RedisCommand("DEL", keys))
        return jobs
    }
}
