import Brokers
import Engine
import Testing

/// dispatchtop's signed django-q2 packages, consumed by `manage.py qcluster`;
/// failures are rows of django-q2's task table in the project's SQLite database.
@Suite(.serialized, .producerCheck(.djangoQ))
struct DjangoQInteropTests {
    @Test func dispatchesFourBatchesAsSent() throws {
        try ProducerCheck.require().expectFourBatchesSent()
    }

    @Test func djangoQVerifiesQueuedPackages() throws {
        let check = try ProducerCheck.require()
        try check.expectLibraryDecodesQueuedMessages()
        for message in try check.queuedMessages() {
            #expect(message["other_keys"] == ["cluster"], "\(message)")
        }
    }

    @Test func clusterDropsExactlyInvalidatedKeys() throws {
        try ProducerCheck.require().expectExactKeysDropped()
    }

    @Test func failedTaskIsRequeuedAndRunsAgain() throws {
        let check = try ProducerCheck.require()
        try check.expectOneFailureRecorded()
        try #require(check.drained, "\(check.workerLog)")
        let site = check.site
        let reader = try check.broker(writeMode: false)
        let failures = reader.failedMessages(limit: 10)
        try #require(failures.count == 1, "\(failures)")
        let task = failures[0]
        #expect(task.system == .djangoQ)
        #expect(task.queue == "interop")
        #expect(task.batch?.ruleIDs == ["supplier-feed-on-supplier"])
        #expect(task.error?.contains(HarnessExpectations.failureText) == true, "\(task.error ?? "no error")")
        #expect(task.attempts == 1)
        #expect(check.depth(reader)?.failed == 1)
        #expect(check.depth(reader)?.ready == 0)

        try check.broker(writeMode: true).requeue(task)
        #expect(try site.count(RedisCommand("LLEN", DjangoQPackage.listKey(cluster: "interop"))) == 1)
        #expect(check.depth(reader)?.ready == 1)
        // django-q2 checks the signature while decoding; every part of the task
        // but its start time is the one dispatchtop first queued.
        let decoded = try site.brokerState("django_q", messages: true)["messages"]?.arrayValue ?? []
        let original = try check.queuedMessages().first { $0["id"]?.stringValue == task.messageID }
        try #require(decoded.count == 1)
        for key in ["id", "name", "function", "args", "kwargs", "other_keys"] {
            #expect(decoded[0][key] == original?[key], "django-q2 decodes \(key) as first queued")
        }

        let worker = try PythonWorker(.qcluster, site: site)
        defer { worker.kill() }
        let ranAgain = poll(timeout: 60) {
            try site.djangoQTaskRows().contains { row in
                row.count == 3 && row[2].stringValue == task.messageID && row[1].intValue == 2
            }
        }
        let status = worker.stop()
        #expect(ranAgain, "the requeued task did not run a second time within 60 s\n\(worker.log)")
        #expect(status == 0, "\(worker.log)")
        let again = reader.failedMessages(limit: 10)
        #expect(again.map(\.messageID) == [task.messageID])
        #expect(again.first?.attempts == 2)
        #expect(try site.count(RedisCommand("LLEN", DjangoQPackage.listKey(cluster: "interop"))) == 0)
    }
}
