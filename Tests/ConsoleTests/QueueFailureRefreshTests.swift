import Foundation
@testable import Brokers
@testable import Console
@testable import Engine
import TestSupport
import Testing

/// The queue detail view reading its broker's failed messages again while it is open.
@Suite struct QueueFailureRefreshTests {
    static let queue = "django_rq:default"

    static func message(_ id: String) -> FailedMessage {
        FailedMessage(system: .rq, queue: "default", messageID: id, body: Array("{}".utf8), error: "injected fault")
    }

    static func openState(_ ids: [String], selected: Int) -> ConsoleState {
        var state = ConsoleState()
        state.dialog = .detail(
            .queue(queue, brokerFailures: .loaded(ids.map(message)), selected: selected), scroll: 3, fullValues: true)
        return state
    }

    /// Returns the listed message ids and the selection of the open view, or nil when none is open.
    static func view(_ state: ConsoleState) -> (ids: [String], selected: Int)? {
        guard case .detail(.queue(_, .loaded(let messages), let selected), _, _)? = state.dialog else { return nil }
        return (messages.map(\.messageID), selected)
    }

    @Test func newReadingKeepsSelectedMessage() {
        var state = Self.openState(["b", "c", "d"], selected: 1)

        let applied = state.applyBrokerFailures(["a", "b", "c", "d"].map(Self.message), queue: Self.queue)

        #expect(applied)
        #expect(Self.view(state)?.ids == ["a", "b", "c", "d"])
        #expect(Self.view(state)?.selected == 2)
    }

    @Test func selectionOnNewestFollowsNewFailures() {
        var state = Self.openState(["b", "c"], selected: 0)

        state.applyBrokerFailures(["a", "b", "c"].map(Self.message), queue: Self.queue)

        #expect(Self.view(state)?.selected == 0)
    }

    @Test func newReadingKeepsScrollAndFullValues() {
        var state = Self.openState(["b"], selected: 0)

        state.applyBrokerFailures(["a", "b"].map(Self.message), queue: Self.queue)

        guard case .detail(_, let scroll, let full)? = state.dialog else {
            Issue.record("the view closed")
            return
        }
        #expect(scroll == 3)
        #expect(full)
    }

    @Test func goneSelectionStaysInRange() {
        var state = Self.openState(["a", "b", "c"], selected: 2)

        state.applyBrokerFailures(["a"].map(Self.message), queue: Self.queue)

        #expect(Self.view(state)?.ids == ["a"])
        #expect(Self.view(state)?.selected == 0)
    }

    @Test func emptyReadingSelectsNothing() {
        var state = Self.openState(["a", "b"], selected: 1)

        state.applyBrokerFailures([], queue: Self.queue)

        #expect(Self.view(state)?.ids == [])
        #expect(Self.view(state)?.selected == 0)
    }

    @Test func readingOfAnotherQueueIsIgnored() {
        var state = Self.openState(["a"], selected: 0)

        let applied = state.applyBrokerFailures(["x"].map(Self.message), queue: "dramatiq:default")

        #expect(!applied)
        #expect(Self.view(state)?.ids == ["a"])
    }

    @Test func readingAfterTheViewClosedIsIgnored() {
        var state = ConsoleState()

        let applied = state.applyBrokerFailures(["x"].map(Self.message), queue: Self.queue)

        #expect(!applied)
        #expect(state.dialog == nil)
    }

    @Test func readingWhileLoadingIsIgnored() {
        var state = ConsoleState()
        state.dialog = .detail(.queue(Self.queue, brokerFailures: .loading), scroll: 0, fullValues: false)

        let applied = state.applyBrokerFailures(["x"].map(Self.message), queue: Self.queue)

        #expect(!applied)
    }

    @Test func firstReadingFillsALoadingView() {
        var state = ConsoleState()
        state.dialog = .detail(.queue(Self.queue, brokerFailures: .loading), scroll: 2, fullValues: true)

        state.showBrokerFailures(["a", "b"].map(Self.message), queue: Self.queue)

        #expect(Self.view(state)?.ids == ["a", "b"])
        #expect(Self.view(state)?.selected == 0)
    }

    @Test func laterReadingOfALoadedViewKeepsSelection() {
        var state = Self.openState(["b", "c"], selected: 1)

        state.showBrokerFailures(["a", "b", "c"].map(Self.message), queue: Self.queue)

        #expect(Self.view(state)?.selected == 2)
    }

    @Test(arguments: [
        ("django_rq:default", BrokerSystem.rq, "default"), ("celery:cache:invalidation", .celery, "cache:invalidation"),
    ])
    func brokerQueueSplitsTheProbeName(name: String, system: BrokerSystem, queue: String) throws {
        let split = try #require(QueueFailureRefresh.brokerQueue(name))
        #expect(split.0 == system)
        #expect(split.1 == queue)
    }

    @Test(arguments: ["default", "redis:default", ""])
    func brokerQueueRejectsUnknownSystems(name: String) {
        #expect(QueueFailureRefresh.brokerQueue(name) == nil)
    }

    /// A failure that reaches the embedded broker after the view opened shows
    /// up at a later poll, read on a background thread.
    @Test func pollListsFailuresThatArriveLater() throws {
        let fixture = try EmbeddedRQFixture()
        defer { fixture.stop() }
        fixture.setFailing(true)

        var state = ConsoleState()
        state.dialog = .detail(.queue(Self.queue, brokerFailures: .loaded([])), scroll: 0, fullValues: false)
        let refresh = QueueFailureRefresh()
        refresh.markRead(now: 1000)
        fixture.save(1...3)
        #expect(waitFor(timeout: 10) { fixture.failed().count == 3 })

        // Before the interval has passed, nothing is read.
        refresh.poll(state: &state, broker: fixture.broker, now: 1000 + QueueFailureRefresh.interval / 2)
        #expect(Self.view(state)?.ids.isEmpty == true)

        var now = 1000 + QueueFailureRefresh.interval
        let listed = waitFor(timeout: 10) {
            refresh.poll(state: &state, broker: fixture.broker, now: now)
            now += 0.01
            return Self.view(state)?.ids.count == 3
        }
        #expect(listed)
    }

    /// A view that opens as loading is read at once, without waiting for the
    /// interval, and a read started before a newer request is dropped.
    @Test func loadingViewIsReadAtOnce() throws {
        let fixture = try EmbeddedRQFixture()
        defer { fixture.stop() }
        fixture.setFailing(true)
        fixture.save(1...2)
        #expect(waitFor(timeout: 10) { fixture.failed().count == 2 })

        var state = ConsoleState()
        state.dialog = .detail(.queue(Self.queue, brokerFailures: .loading), scroll: 0, fullValues: false)
        let refresh = QueueFailureRefresh()
        refresh.markRead(now: 1000)
        refresh.requestRead()
        let listed = waitFor(timeout: 10) {
            refresh.poll(state: &state, broker: fixture.broker, now: 1000)
            return Self.view(state)?.ids.count == 2
        }

        #expect(listed)
    }

    @Test func readBeforeANewerRequestIsDropped() throws {
        let fixture = try EmbeddedRQFixture()
        defer { fixture.stop() }
        fixture.setFailing(true)
        fixture.save(1...2)
        #expect(waitFor(timeout: 10) { fixture.failed().count == 2 })

        var state = ConsoleState()
        state.dialog = .detail(.queue(Self.queue, brokerFailures: .loading), scroll: 0, fullValues: false)
        let refresh = QueueFailureRefresh()
        refresh.poll(state: &state, broker: fixture.broker, now: 1000)
        // The read started above belongs to the generation before this request.
        refresh.requestRead()
        usleep(200_000)
        refresh.poll(state: &state, broker: fixture.broker, now: 1000)

        #expect(Self.view(state) == nil, "the stale read was shown")
        let listed = waitFor(timeout: 10) {
            refresh.poll(state: &state, broker: fixture.broker, now: 1000)
            return Self.view(state)?.ids.count == 2
        }
        #expect(listed)
    }
}
