@testable import Brokers
@testable import Console
@testable import Engine
import TestSupport
import Testing

/// The keys of a queue's detail view that requeue the broker's failed messages.
@Suite struct RequeueStateTests {
    let snapshot: EngineSnapshot

    init() throws {
        snapshot = try EngineFixture.busyShop().engine.snapshot()
    }

    static let queue = "dramatiq:cache-invalidation"
    static let messages = (1...3).map { index in
        FailedMessage(
            system: .dramatiq, queue: "cache-invalidation", messageID: "msg-\(index)", body: Array("{}".utf8),
            error: "injected fault", failedAt: 1_796_299_200 + Double(index), attempts: 4)
    }
    static let targets = WriteTargets(brokerLabel: "redis://127.0.0.1:6390/0", cacheLabel: "memory", ruleDispatchers: ["dramatiq"])

    static func context(canWrite: Bool = true, replayRunning: Bool = false, requeueRunning: Bool = false) -> ControlContext {
        ControlContext(
            now: 1_796_299_300, canWrite: canWrite, replayRunning: replayRunning, requeueRunning: requeueRunning,
            writeTargets: targets)
    }

    /// Returns a state with the queue's detail view open on `failures`.
    static func detailState(_ failures: BrokerFailures = .loaded(messages)) -> ConsoleState {
        var state = ConsoleState()
        state.dialog = .detail(.queue(queue, brokerFailures: failures), scroll: 0, fullValues: false)
        return state
    }

    func press(_ keys: [Key], _ state: inout ConsoleState, context: ControlContext = context()) -> [ConsoleEffect] {
        let views = PaneViews(snapshot: snapshot, state: state)
        return keys.flatMap { state.handle($0, views: views, context: context) }
    }

    static func selected(_ state: ConsoleState) -> Int? {
        guard case .detail(.queue(_, _, let selected), _, _)? = state.dialog else { return nil }
        return selected
    }

    @Test func enterOnAQueueRowReadsItsFailures() throws {
        var state = ConsoleState()
        state.focus = .queues
        let views = PaneViews(snapshot: snapshot, state: state)
        state.reconcile(with: views)
        let effects = state.handle(.enter, views: views, context: Self.context())
        guard case .loadBrokerFailures(let name)? = effects.first else {
            Issue.record("Enter on a queue row read nothing: \(effects)")
            return
        }
        #expect(snapshot.queues.contains { $0.depth.name == name })
    }

    @Test func movementKeysSelectAFailedMessage() {
        var state = Self.detailState()
        _ = press([.down, .character("j")], &state)
        #expect(Self.selected(state) == 2)
        _ = press([.down], &state)
        #expect(Self.selected(state) == 2, "the selection stops at the last message")
        _ = press([.up], &state)
        #expect(Self.selected(state) == 1)
        _ = press([.character("g")], &state)
        #expect(Self.selected(state) == 0)
    }

    @Test func lowercaseRRequeuesTheSelectedMessage() {
        var state = Self.detailState()
        let effects = press([.down, .character("r")], &state)
        let request = RequeueRequest(queue: Self.queue, messages: [Self.messages[1]], brokerLabel: Self.targets.brokerLabel)
        #expect(effects == [.requeue(request)])
        guard case .requeueProgress(let queue)? = state.dialog else {
            Issue.record("no progress window: \(String(describing: state.dialog))")
            return
        }
        #expect(queue == Self.queue)
    }

    @Test func capitalRAsksWithTheCountAndTheBroker() {
        var state = Self.detailState()
        let beforeAnswer = press([.character("R")], &state)
        #expect(beforeAnswer.isEmpty, "nothing is requeued before the answer")
        guard case .confirmRequeueAll(let request)? = state.dialog else {
            Issue.record("no question: \(String(describing: state.dialog))")
            return
        }
        #expect(request.messages.count == 3)
        #expect(request.brokerLabel == Self.targets.brokerLabel)
        let effects = press([.character("y")], &state)
        #expect(effects == [.requeue(request)])
        guard case .requeueProgress? = state.dialog else {
            Issue.record("no progress window: \(String(describing: state.dialog))")
            return
        }
    }

    @Test func answeringNoReturnsToTheQueue() {
        var state = Self.detailState()
        let effects = press([.character("R"), .character("n")], &state)
        #expect(effects.isEmpty)
        guard case .detail(.queue(let name, let failures, _), _, _)? = state.dialog else {
            Issue.record("not back in the queue: \(String(describing: state.dialog))")
            return
        }
        #expect(name == Self.queue)
        #expect(failures.messages == Self.messages)
    }

    @Test func readOnlyRefusesAndNamesWrite() {
        for key in [Key.character("r"), Key.character("R")] {
            var state = Self.detailState()
            let effects = press([key], &state, context: Self.context(canWrite: false))
            #expect(effects.isEmpty)
            let status = state.status
            #expect(status?.level == .error)
            #expect(status?.text.contains("writes to the broker redis://127.0.0.1:6390/0") == true, "\(String(describing: status))")
            #expect(status?.text.contains("--write") == true)
            #expect(status?.text.contains("cache") == false, "a requeue writes to the broker only")
            guard case .detail(.queue, _, _)? = state.dialog else {
                Issue.record("the refusal closed the queue: \(String(describing: state.dialog))")
                continue
            }
        }
    }

    @Test func runningJobBlocksARequeue() {
        var state = Self.detailState()
        let effects = press([.character("r")], &state, context: Self.context(replayRunning: true))
        #expect(effects.isEmpty)
        #expect(state.status?.text.hasPrefix("A replay is already running") == true)
        let again = press([.character("R")], &state, context: Self.context(requeueRunning: true))
        #expect(again.isEmpty)
        #expect(state.status?.text.hasPrefix("A requeue is already running") == true)
    }

    @Test func emptyOrUnreadFailuresRequeueNothing() {
        let cases: [(BrokerFailures, String)] = [
            (.loaded([]), "no failed message"), (.loading, "still being read"), (.noBroker, "No broker is configured"),
        ]
        for (failures, expected) in cases {
            var state = Self.detailState(failures)
            let effects = press([.character("r")], &state) + press([.character("R")], &state)
            #expect(effects.isEmpty)
            #expect(state.status?.text.contains(expected) == true, "\(String(describing: state.status))")
        }
    }

    @Test func progressWindowStopsAndReturnsToTheQueue() {
        var state = ConsoleState()
        state.dialog = .requeueProgress(queue: Self.queue)
        let stop = press([.character("s")], &state, context: Self.context(requeueRunning: true))
        #expect(stop == [.stopRequeue])
        let stopFinished = press([.character("s")], &state)
        #expect(stopFinished.isEmpty, "a finished requeue has nothing to stop")
        let effects = press([.escape], &state)
        #expect(effects == [.loadBrokerFailures(Self.queue)])
        guard case .detail(.queue(Self.queue, .loading, _), _, _)? = state.dialog else {
            Issue.record("not back in the queue: \(String(describing: state.dialog))")
            return
        }
    }

    @Test func helpListsTheRequeueKeysForDetailViews() {
        let lines = KeyMap.helpLines(ascii: false)
        guard let start = lines.firstIndex(where: { $0.isHeading && $0.keys == KeyScope.detail.rawValue }) else {
            Issue.record("the help has no detail section")
            return
        }
        let section = lines[(start + 1)...].prefix { !$0.isHeading }
        #expect(section.contains { $0.keys == "r" && $0.description.contains("requeue the selected failed message") })
        #expect(section.contains { $0.keys == "R" && $0.description.contains("requeue all its failed messages") })
    }

    @Test func closingLineUsesSingularAndPlural() {
        var one = RequeueJobStatus(queue: "dramatiq:default", title: "t", brokerLabel: "embedded", total: 1)
        one.requeued = 1
        #expect(one.closingLine == "1 of 1 message: 1 requeued, 0 failed.")
        var three = RequeueJobStatus(queue: "dramatiq:default", title: "t", brokerLabel: "embedded", total: 3)
        three.requeued = 2
        three.failed = 1
        #expect(three.closingLine == "3 of 3 messages: 2 requeued, 1 failed.")
    }
}

/// The requeue thread against a real embedded broker that has none of the
/// messages requested, so every requeue fails and is counted and logged.
@Suite struct RequeueJobTests {
    @Test func unknownMessagesCountAsFailed() throws {
        let broker = EmbeddedBroker()
        let records = MemoryLogHandler()
        let logger = Logger(label: "console", handler: records)
        let request = RequeueRequest(
            queue: RequeueStateTests.queue, messages: RequeueStateTests.messages, brokerLabel: "embedded")

        let job = RequeueJob.start(request, broker: broker, logger: logger)

        #expect(job.wait(seconds: 10))
        let status = job.status
        #expect(status.isFinished)
        #expect(status.total == 3)
        #expect(status.requeued == 0)
        #expect(status.failed == 3)
        #expect(status.lastMessageID == "msg-3")
        #expect(status.lastError?.contains("no failed message 'msg-3'") == true, "\(String(describing: status.lastError))")
        #expect(status.closingLine == "3 of 3 messages: 0 requeued, 3 failed.")
        let failures = records.all.filter { $0.message == "Requeue failed" }
        #expect(failures.count == 3)
        let ids = failures.compactMap { record in record.metadata.first { $0.0 == ConsoleLogKey.messageID }?.1 }
        #expect(ids == ["msg-1", "msg-2", "msg-3"])
        let closing = try #require(records.all.last)
        #expect(closing.message == "Requeue finished")
        #expect(closing.metadata.contains { $0 == (ConsoleLogKey.failed, "3") })
    }
}

/// R on a queue with more failed messages than its detail view lists: the
/// requeue reads the rest from a real embedded broker as it goes.
@Suite struct RequeueDrainTests {
    @Test func requeueAllGoesPastTheListedMessages() throws {
        let folder = try TemporaryDirectory(prefix: "dispatchtop-requeue")
        defer { folder.remove() }
        let journal = try FailureJournal(path: folder.file("journal.sqlite3"))
        let fixture = try EmbeddedRQFixture(journal: journal)
        defer { fixture.stop() }

        fixture.setFailing(true)
        fixture.save(1...12)
        #expect(waitFor(timeout: 10) { fixture.failed().count == 12 })
        fixture.setFailing(false)

        // The view listed only the newest 5 of the 12.
        let listed = fixture.failed(limit: 5)
        #expect(listed.count == 5)
        let request = RequeueRequest(
            queue: "django_rq:default", messages: listed, brokerLabel: "embedded", drainsQueue: true, expectedCount: 12)
        #expect(journal.listing().open == 12)
        let job = RequeueJob.start(request, broker: fixture.broker, journal: journal, logger: .disabled)

        #expect(job.wait(seconds: 10))
        let status = job.status
        #expect(status.requeued == 12)
        #expect(status.failed == 0)
        #expect(status.total == 12)
        #expect(status.closingLine == "12 of 12 messages: 12 requeued, 0 failed.")
        #expect(waitFor(timeout: 10) { fixture.failed().isEmpty })
        // Each requeued batch's journal entry is resolved, with the requeue in its history.
        let listing = journal.listing()
        #expect(listing.total == 12)
        #expect(listing.open == 0)
        let first = try #require(listing.rows.first)
        let history = try journal.replays(of: first.id)
        #expect(history.map(\.outcome) == ["requeued"])
        #expect(history.first?.dispatcher == "django_rq")
    }
}
