import Brokers
import Engine
import Foundation
import Synchronization
import Testing
import TestSupport

@testable import dispatchtop

#if canImport(Glibc)
    import Glibc
#endif

/// Redis going away while dispatchtop runs: batches wait in the journal's
/// outbox and are sent once Redis is back, so the workers' libraries read them.
///
/// Each test kills and restarts its own server.
@Suite(.serialized)
struct BrokerOutageTests {
    /// Each rule on another system, so that the four batches after the outage cover all four.
    static let dispatchers = [
        "product-detail-on-product": "celery", "category-listing-on-product": "django_rq",
        "category-listing-on-category": "dramatiq", "regional-prices-on-product": "django_q",
        "supplier-feed-on-supplier": "django_q",
    ]

    /// The queue each system's batch lands on after the outage, with the restflow rule ids it carries.
    static let drainedQueues: [(state: String, queue: String, ruleIDs: [Int64])] = [
        ("celery", "cache-invalidation", [1]), ("rq", "default", [2]), ("dramatiq", "default", [3]),
        ("django_q", "interop", [5]),
    ]

    @Test func configuredQueuesAreWatchedBeforeAnySend() throws {
        let site = try InteropSite(name: "watch-queues")
        defer { site.stop() }
        let options = try Self.engineOptions(site)
        let setup = try EngineSetup.make(options)
        defer { setup.shutdown() }

        setup.engine.sampleQueues()

        let names = Set(setup.engine.snapshot().queues.map(\.depth.name))
        #expect(names == ["celery:cache-invalidation", "django_rq:default", "dramatiq:default", "django_q:interop"])
    }

    @Test func outboxDrainsAfterRestart() throws {
        let site = try InteropSite(name: "outage-engine")
        defer { site.stop() }
        try site.migrate()
        let options = try Self.engineOptions(site)
        let outcomes = Mutex<[(event: Int?, outcome: String)]>([])
        let setup = try EngineSetup.make(options) { finished in
            outcomes.withLock { $0.append((finished.batch.eventIndex, finished.outcome.label)) }
        }
        defer { setup.shutdown() }
        let engine = setup.engine
        let events = try Self.readEvents()

        engine.process(events[0], index: 0)
        #expect(engine.waitUntilIdle(timeout: 10))
        site.redis.kill()
        for index in 1..<events.count {
            engine.process(events[index], index: index)
        }
        #expect(engine.waitUntilIdle(timeout: 10))
        let seen = outcomes.withLock { $0 }
        #expect(seen.filter { $0.event == 0 }.map(\.outcome) == ["sent", "sent", "sent"])
        #expect(seen.filter { ($0.event ?? 0) > 0 }.map(\.outcome) == ["outbox", "outbox", "outbox", "outbox"])

        engine.sampleQueues()
        let down = engine.snapshot()
        #expect(down.outboxWaiting == 4)
        #expect(down.brokerStatus?.isUp == false)
        #expect(engine.journal?.outboxCount() == 4)

        try site.redis.start()
        let drained = poll(timeout: 40) { engine.journal?.outboxCount() == 0 }
        let left = engine.journal?.outboxCount() ?? -1
        #expect(drained, "the outbox still contains \(left) entries 40 s after Redis returned")
        // The probe's own connection reconnects after its backoff (at most 5 s).
        let reachable = poll(timeout: 10) {
            engine.sampleQueues()
            return engine.snapshot().brokerStatus?.isUp == true
        }
        #expect(reachable)
        #expect(engine.snapshot().outboxWaiting == 0)
        // The live-batch list follows the outbox: the batches it sent read "sent".
        let states = engine.snapshot().liveBatches.filter { ($0.eventIndex ?? 0) > 0 }.map(\.state)
        #expect(states.count == 4)
        #expect(states.allSatisfy { $0 == .sent }, "\(states)")
        try Self.expectDrainedMessages(site)
    }

    /// A console or `--once` without `--write` only watches the broker, so
    /// batches left in the outbox stay there until a writing process sends them.
    @Test func readOnlyProcessLeavesTheOutbox() throws {
        let site = try InteropSite(name: "outage-read-only")
        defer { site.stop() }
        try site.migrate()
        let options = try Self.engineOptions(site)
        let journalPath = try Self.fillOutbox(site, options: options)
        try site.redis.start()
        let shared = [
            "--config", try #require(options.configPath), "--broker", site.redisURL, "--journal", journalPath,
        ]

        let watching = try DispatchtopCommand.run(["--once", "--after", "3"] + shared)
        #expect(watching.status == 0, "\(watching.transcript)")
        #expect(try FailureJournal(path: journalPath).outboxCount() == 4)
        #expect(try site.count(RedisCommand("LLEN", "cache-invalidation")) == 0)

        let writing = try DispatchtopCommand.run(["--once", "--after", "6", "--write"] + shared)
        #expect(writing.status == 0, "\(writing.transcript)")
        #expect(try FailureJournal(path: journalPath).outboxCount() == 0)
        try Self.expectDrainedMessages(site)
    }

    /// `replay` sends the outbox like `run` does, and waits for it before
    /// exiting, even when no journal entry is left to replay.
    @Test func replayCommandSendsTheOutbox() throws {
        let site = try InteropSite(name: "outage-replay")
        defer { site.stop() }
        try site.migrate()
        let options = try Self.engineOptions(site)
        let journalPath = try Self.fillOutbox(site, options: options)
        try site.redis.start()

        let replay = try Self.runReplay([
            "--all", "--config", try #require(options.configPath), "--broker", site.redisURL, "--journal", journalPath,
        ])

        #expect(replay.status == 0, "\(replay.transcript)")
        #expect(replay.stdout.contains("nothing to replay"), "\(replay.transcript)")
        #expect(replay.stderr.contains("The outbox is empty: the 4 batches that waited in it were sent"), "\(replay.transcript)")
        #expect(try FailureJournal(path: journalPath).outboxCount() == 0)
        try Self.expectDrainedMessages(site)
    }

    /// Entries that a process claimed and then left (it died while sending)
    /// wait for the claim to run out, and the command reports it.
    @Test func claimsOfAStoppedProcessAreNamed() throws {
        let site = try InteropSite(name: "outage-claims")
        defer { site.stop() }
        try site.migrate()
        let options = try Self.engineOptions(site)
        let journalPath = try Self.fillOutbox(site, options: options)
        try site.redis.start()
        let now = Date().timeIntervalSince1970
        let claimed = try FailureJournal(path: journalPath).claimOutboxEntries(
            limit: 10, owner: "stopped-process", until: now + 60, now: now)
        #expect(claimed.count == 4)

        let replay = try Self.runReplay([
            "--all", "--timeout", "1", "--config", try #require(options.configPath), "--broker", site.redisURL,
            "--journal", journalPath,
        ])

        #expect(replay.status == 1, "\(replay.transcript)")
        #expect(replay.stderr.contains("4 batches still wait in the outbox"), "\(replay.transcript)")
        #expect(replay.stderr.contains("4 of them are claimed by another process"), "\(replay.transcript)")
        #expect(try FailureJournal(path: journalPath).outboxCount() == 4)
        #expect(try Self.queuedMessages(site) == 0)
    }

    /// Batches that Redis rejected are journalled. Replaying them onto the
    /// real broker needs `--write`: without it each is skipped with the
    /// reason, nothing is sent, and `replay` exits 1.
    @Test func replayOntoRedisNeedsWrite() throws {
        let site = try InteropSite(name: "replay-write")
        defer { site.stop() }
        try site.migrate()
        let options = try Self.engineOptions(site)
        let journalPath = try #require(options.journalPath)
        try Self.journalRejectedBatches(site, options: options)
        let failed = try FailureJournal(path: journalPath).entries(FailureFilter())
        try #require(failed.count == 7, "\(failed.map(\.error.message))")
        let shared = [
            "--all", "--config", try #require(options.configPath), "--broker", site.redisURL, "--journal", journalPath,
        ]

        let readOnly = try Self.runReplay(shared)
        #expect(readOnly.status == 1, "\(readOnly.transcript)")
        let skipped = readOnly.stdout.split(separator: "\n").filter { $0.contains("skipped (replaying onto the broker at ") }
        #expect(skipped.count == 7, "\(readOnly.transcript)")
        #expect(readOnly.stdout.contains("needs --write"), "\(readOnly.transcript)")
        #expect(try Self.queuedMessages(site) == 0)
        #expect(try FailureJournal(path: journalPath).entries(FailureFilter()).count == 7)

        let writing = try Self.runReplay(shared + ["--write"])
        #expect(writing.status == 0, "\(writing.transcript)")
        #expect(try Self.queuedMessages(site) == 7)
        #expect(try FailureJournal(path: journalPath).entries(FailureFilter()).isEmpty)
    }

    /// Replays that went to the outbox during an outage are sent once: by
    /// the outbox, which resolves their entries, and not again by a later
    /// replay of the same entries.
    @Test func replayLeftInTheOutboxIsSentOnce() throws {
        let site = try InteropSite(name: "replay-outbox")
        defer { site.stop() }
        try site.migrate()
        var options = try Self.engineOptions(site)
        options.writeMode = true
        let journalPath = try #require(options.journalPath)
        try Self.journalRejectedBatches(site, options: options) { setup in
            // The replay meets an outage: every replayed batch goes to the outbox.
            site.redis.kill()
            let summary = Replayer(engine: setup.engine).replayAll(options: ReplayOptions(ratePerSecond: nil, outcomeTimeout: 10))
            #expect(summary.items.map(\.outcome.label) == Array(repeating: "outbox", count: 7), "\(summary.items)")
        }
        #expect(try FailureJournal(path: journalPath).outboxCount() == 7)
        try site.redis.start()

        let replay = try Self.runReplay([
            "--all", "--write", "--config", try #require(options.configPath), "--broker", site.redisURL, "--journal", journalPath,
        ])

        #expect(replay.status == 0, "\(replay.transcript)")
        #expect(try Self.queuedMessages(site) == 7, "\(replay.transcript)")
        let journal = try FailureJournal(path: journalPath)
        #expect(journal.outboxCount() == 0)
        #expect(try journal.entries(FailureFilter()).isEmpty, "entries left open")
        let resolutions = try journal.entries(FailureFilter(statuses: [.resolved])).map(\.resolution)
        #expect(resolutions == Array(repeating: "sent", count: 7), "\(resolutions)")
    }

    /// A queue whose depth cannot be read fails `--max-depth`, with the reason.
    @Test func onceDepthCheckFailsOnUnreadableQueue() throws {
        let site = try InteropSite(name: "unreadable-queue")
        defer { site.stop() }
        let options = try Self.engineOptions(site)
        #expect(try site.reader.execute(RedisCommand("SET", "cache-invalidation", "not a list")) == .status("OK"))

        let once = try DispatchtopCommand.run([
            "--once", "--after", "1", "--max-depth", "100", "--config", try #require(options.configPath), "--broker",
            site.redisURL, "--journal", try #require(options.journalPath),
        ])

        #expect(once.status == 3, "\(once.transcript)")
        #expect(once.stderr.contains("queue celery:cache-invalidation has no readable depth"), "\(once.stderr)")
        #expect(once.stderr.contains("WRONGTYPE"), "\(once.stderr)")
        #expect(!once.stderr.contains("queue django_rq:default has no readable depth"), "\(once.stderr)")
    }

    /// Sends every event while Redis rejects writes (OOM, with a memory
    /// limit of 1 byte and no eviction), so that each of the 7 batches fails
    /// and is journalled. Then lifts the limit and runs `then` with the
    /// same engine.
    private static func journalRejectedBatches(
        _ site: InteropSite, options: EngineOptions, then: (EngineSetup) throws -> Void = { _ in }
    ) throws {
        #expect(try site.reader.execute(RedisCommand("CONFIG", "SET", "maxmemory", "1")) == .status("OK"))
        let setup = try EngineSetup.make(options)
        defer { setup.shutdown() }
        for (index, event) in try readEvents().enumerated() {
            setup.engine.process(event, index: index)
        }
        #expect(setup.engine.waitUntilIdle(timeout: 10))
        #expect(try site.reader.execute(RedisCommand("CONFIG", "SET", "maxmemory", "0")) == .status("OK"))
        try then(setup)
    }

    /// Kills Redis, sends every event but the first (which would leave
    /// messages in the queues), and returns the journal holding the 4
    /// batches that went to the outbox.
    private static func fillOutbox(_ site: InteropSite, options: EngineOptions) throws -> String {
        do {
            let setup = try EngineSetup.make(options)
            defer { setup.shutdown() }
            site.redis.kill()
            for (index, event) in try readEvents().enumerated().dropFirst() {
                setup.engine.process(event, index: index)
            }
            #expect(setup.engine.waitUntilIdle(timeout: 10))
        }
        let journalPath = try #require(options.journalPath)
        #expect(try FailureJournal(path: journalPath).outboxCount() == 4)
        return journalPath
    }

    /// Messages waiting in the four systems' queues of the interop configuration.
    private static func queuedMessages(_ site: InteropSite) throws -> Int {
        try site.count(RedisCommand("LLEN", "cache-invalidation")) + site.count(RedisCommand("LLEN", RQJob.queueKey("default")))
            + site.count(RedisCommand("LLEN", "dramatiq:default")) + site.count(RedisCommand("LLEN", DjangoQPackage.listKey(cluster: "interop")))
    }

    /// Runs `dispatchtop replay`, whose standard output is text, not JSON.
    private static func runReplay(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String, transcript: String) {
        var environment = ProcessInfo.processInfo.environment
        environment["SWIFT_BACKTRACE"] = "enable=no"
        let result = try ProcessRunner.run([try DispatchtopCommand.path(), "replay"] + arguments, environment: environment, timeout: 120)
        let transcript = "exit status \(result.status)\n--- stdout ---\n\(result.stdout)--- stderr ---\n\(result.stderr)"
        return (result.status, result.stdout, result.stderr, transcript)
    }

    /// Checks each system's queue after the restart. The restarted server kept
    /// nothing, so each queue contains exactly the batch that waited in the
    /// outbox, and each system's library decodes it.
    private static func expectDrainedMessages(_ site: InteropSite) throws {
        for expected in drainedQueues {
            let state = try site.brokerState(expected.state, queue: expected.queue, messages: true)
            let messages = state["messages"]?.arrayValue ?? []
            try #require(messages.count == 1, "\(expected.state): \(state)")
            let ruleIDs = InteropSystem.restflowRuleIDs(ofDecoded: messages[0])
            #expect(ruleIDs == expected.ruleIDs, "\(expected.state): \(messages[0])")
        }
    }

    @Test func runPrintsOutboxOutcomes() throws {
        let site = try InteropSite(name: "outage-run")
        defer { site.stop() }
        let configuration = try Self.writeConfiguration(site)
        let journalPath = site.folder.file("journal.sqlite3")
        let fifo = site.folder.file("events.fifo")
        let (reader, writer) = try Self.makeFIFO(fifo)
        defer { close(reader) }
        var environment = ProcessInfo.processInfo.environment
        environment["SWIFT_BACKTRACE"] = "enable=no"
        let run: ProcessRunner.Started
        do {
            run = try ProcessRunner.start(
                [
                    try DispatchtopCommand.path(), "run", "--config", configuration, "--events", "-",
                    "--broker", site.redisURL, "--journal", journalPath, "--timeout", "2",
                ],
                environment: environment, stdinPath: fifo, outputDirectory: site.folder.path)
        } catch {
            close(writer)
            throw error
        }
        defer { _ = ProcessRunner.wait(run.pid, timeout: 1) }
        let events = try String(contentsOfFile: InteropHarness.events, encoding: .utf8).split(separator: "\n")
        try Self.feed(writer, events: events) {
            // Event 0 reaches Redis: its three batches land in three queues.
            let sent = poll(timeout: 20) {
                try site.count(RedisCommand("LLEN", "cache-invalidation")) == 1
                    && site.count(RedisCommand("LLEN", RQJob.queueKey("default"))) == 1
                    && site.count(RedisCommand("LLEN", DjangoQPackage.listKey(cluster: "interop"))) == 1
            }
            #expect(sent, "event 0 was not dispatched within 20 s")
            site.redis.kill()
        }

        let status = ProcessRunner.waitWithoutKilling(run.pid, timeout: 60)
        let output = try DispatchtopCommand.output(
            status: status ?? -1, stdout: try String(contentsOfFile: run.stdoutPath, encoding: .utf8),
            stderr: try String(contentsOfFile: run.stderrPath, encoding: .utf8))
        // Redis stays down, so the outbox cannot drain within --timeout: run
        // says where the batches are kept and exits 1.
        #expect(status == 1, "\(output.transcript)")
        #expect(output.stderr.contains("4 batches still wait in the outbox of \(journalPath)"), "\(output.stderr)")
        #expect(output.events == [0, 0, 0, 1, 1, 2, 3], "\(output.transcript)")
        let expected = ["sent", "sent", "sent", "outbox", "outbox", "outbox", "outbox"]
        #expect(output.outcomes == expected, "\(output.transcript)")
        #expect(output.stderr.contains("in the outbox 4"), "\(output.stderr)")
        #expect(try FailureJournal(path: journalPath).outboxCount() == 4)
    }

    // MARK: - Helpers

    /// Engine options for the site's configuration, its Redis as the broker
    /// and a journal in its folder.
    private static func engineOptions(_ site: InteropSite) throws -> EngineOptions {
        var options = EngineOptions()
        options.configPath = try writeConfiguration(site)
        options.brokerURL = site.redisURL
        options.journalPath = site.folder.file("journal.sqlite3")
        return options
    }

    private static func writeConfiguration(_ site: InteropSite) throws -> String {
        var brokers = JSONObject()
        for system in ["celery", "django_rq", "dramatiq", "django_q"] {
            for member in InteropConfiguration.brokers(for: system, databasePath: site.databasePath) {
                brokers[member.key] = member.value
            }
        }
        return try InteropConfiguration.write(
            to: site.folder.path, dispatcher: "inline", brokers: brokers, dispatchers: dispatchers)
    }

    private static func readEvents() throws -> [ChangeEvent] {
        let reader = try EventLineReader(path: InteropHarness.events)
        var events: [ChangeEvent] = []
        while let line = reader.next() {
            guard case .event(let event, _) = line else { throw InteropSetupError("\(line) is not an event") }
            events.append(event)
        }
        return events
    }

    /// Writes the first event, runs `between`, then writes the other events
    /// and closes the FIFO, which ends dispatchtop's input.
    private static func feed(_ writer: Int32, events: [Substring], between: () throws -> Void) throws {
        defer { close(writer) }
        write(events[0] + "\n", to: writer)
        try between()
        write(events[1...].joined(separator: "\n") + "\n", to: writer)
    }

    /// Creates a FIFO and opens both ends in this process.
    ///
    /// The write end must be open before the child starts, so that the
    /// child's blocking open of its standard input returns at once:
    /// posix_spawn suspends the caller until the child has run exec. This
    /// process keeps a read end open, so a write never raises SIGPIPE even
    /// if the child has died. Both are close-on-exec, so no child inherits them.
    private static func makeFIFO(_ path: String) throws -> (reader: Int32, writer: Int32) {
        guard mkfifo(path, 0o600) == 0 else {
            throw InteropSetupError("mkfifo \(path): \(String(cString: strerror(errno)))")
        }
        let reader = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard reader >= 0 else { throw InteropSetupError("open \(path): \(String(cString: strerror(errno)))") }
        let writer = open(path, O_WRONLY | O_CLOEXEC)
        guard writer >= 0 else {
            close(reader)
            throw InteropSetupError("open \(path): \(String(cString: strerror(errno)))")
        }
        return (reader, writer)
    }

    private static func write(_ text: some StringProtocol, to descriptor: Int32) {
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
    }
}
