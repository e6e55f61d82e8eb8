import Brokers
import Engine
import Testing
import TestSupport

/// A django-q task for a cluster that no qcluster runs.
///
/// django-q2 itself pushes such a task to `django_q:<cluster>:q` without
/// complaint, and Redis does not show which lists a running cluster reads.
/// So dispatchtop can only know a cluster is unconfigured when the broker
/// settings list the clusters (`settings.brokers.django_q.clusters`); then
/// the dispatch fails. Without that list the task is sent, and the probe
/// shows its list growing while nothing consumes it.
@Suite(.serialized)
struct DjangoQClusterTests {
    /// Rule 3 (event 2) goes to the cluster `nightly`, and the other rules go to `interop`.
    static let nightlyRule = ["category-listing-on-category": JSONObject([("cluster", "nightly")])]

    @Test func unlistedClusterFailsDispatch() throws {
        let site = try InteropSite(name: "django-q-clusters")
        defer { site.stop() }
        let configuration = try Self.writeConfiguration(site, clusters: ["interop"])

        let output = try Self.dispatch(site, configuration: configuration)
        #expect(output.status == 0, "\(output.transcript)")
        #expect(output.outcomes == ["sent", "sent", "failed", "sent"], "\(output.transcript)")
        let error = output.lines.count == 4 ? output.lines[2]["error"]?.stringValue ?? "" : ""
        #expect(error.contains("'nightly' is not configured"), "\(error)")
        #expect(error.contains("'interop'"), "the error lists the configured clusters: \(error)")
        #expect(try site.count(RedisCommand("LLEN", DjangoQPackage.listKey(cluster: "nightly"))) == 0)
        #expect(try site.count(RedisCommand("LLEN", DjangoQPackage.listKey(cluster: "interop"))) == 3)

        let journal = try FailureJournal(path: site.folder.file("journal.sqlite3"))
        let failures = try journal.entries(FailureFilter())
        #expect(failures.map(\.batch.ruleIDs) == [["category-listing-on-category"]])
        #expect(failures.first?.error.kind == .broker)

        let broker = try InteropConfiguration.broker(
            configurationPath: configuration, redisURL: site.redisURL,
            watching: [QueueReference(.djangoQ, "nightly")])
        let nightly = try #require(broker.depths().first)
        #expect(nightly.note?.contains("no configured cluster reads this list") == true, "\(nightly)")
    }

    @Test func unlistedClusterQueueGrowsUnconsumed() throws {
        let site = try InteropSite(name: "django-q-unlisted")
        defer { site.stop() }
        try site.migrate()
        let configuration = try Self.writeConfiguration(site, clusters: nil)
        let broker = try InteropConfiguration.broker(
            configurationPath: configuration, redisURL: site.redisURL,
            watching: [QueueReference(.djangoQ, "interop"), QueueReference(.djangoQ, "nightly")])
        let worker = try PythonWorker(.qcluster, site: site)
        defer { worker.kill() }

        for round in 1...2 {
            let output = try Self.dispatch(site, configuration: configuration, round: round)
            #expect(output.outcomes == ["sent", "sent", "sent", "sent"], "\(output.transcript)")
            // The running cluster consumes its own three tasks of every round...
            let consumed = poll(timeout: 60) {
                try site.count(RedisCommand("LLEN", DjangoQPackage.listKey(cluster: "interop"))) == 0
                    && site.djangoQTaskRows().count == 3 * round
            }
            #expect(consumed, "qcluster did not run round \(round) within 60 s\n\(worker.log)")
            // ...while the nightly list only grows.
            let depths = Dictionary(uniqueKeysWithValues: broker.depths().map { ($0.name, $0) })
            #expect(depths["django_q:interop"]?.ready == 0)
            #expect(depths["django_q:nightly"]?.ready == round)
        }
        #expect(worker.stop() == 0, "\(worker.log)")
    }

    @Test func clustersMustBeAList() throws {
        let folder = try TemporaryDirectory(prefix: "interop-clusters")
        defer { folder.remove() }
        var brokers = InteropConfiguration.brokers(for: "django_q")
        brokers["django_q"] = ["secret_key": .string(InteropHarness.secretKey), "clusters": "interop"]
        let configuration = try InteropConfiguration.write(to: folder.path, dispatcher: "django_q", brokers: brokers)

        let output = try DispatchtopCommand.run([
            "run", "--config", configuration, "--events", InteropHarness.events,
            "--broker", "redis://127.0.0.1:\(try freeLoopbackPort())/0", "--journal", folder.file("journal.sqlite3"),
        ])
        #expect(output.status == 2, "\(output.transcript)")
        #expect(output.stderr.contains("settings.brokers.django_q.clusters"), "\(output.stderr)")
        #expect(output.stderr.contains("expected a list of cluster names, got \"interop\""), "\(output.stderr)")
    }

    // MARK: - Helpers

    private static func writeConfiguration(_ site: InteropSite, clusters: [String]?) throws -> String {
        var brokers = InteropConfiguration.brokers(for: "django_q", databasePath: site.databasePath)
        if let clusters, var block = brokers["django_q"]?.objectValue {
            block["clusters"] = .array(clusters.map(JSONValue.string))
            brokers["django_q"] = .object(block)
        }
        return try InteropConfiguration.write(
            to: site.folder.path, dispatcher: "django_q", brokers: brokers, ruleConfig: nightlyRule)
    }

    private static func dispatch(
        _ site: InteropSite, configuration: String, round: Int = 1
    ) throws -> DispatchtopCommand.Output {
        try DispatchtopCommand.run([
            "run", "--config", configuration, "--events", InteropHarness.events, "--broker", site.redisURL,
            "--journal", site.folder.file(round == 1 ? "journal.sqlite3" : "journal-\(round).sqlite3"),
        ])
    }
}
