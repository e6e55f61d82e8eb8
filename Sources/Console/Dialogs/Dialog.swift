import Brokers
import Engine

/// A window over the panes that takes the keys while it is open.
public enum Dialog: Sendable {
    case help(scroll: Int)
    case detail(DetailTarget, scroll: Int, fullValues: Bool)
    case trigger(TriggerForm)
    case faults(FaultForm)
    /// Asks before replaying every open failure.
    case confirmReplayAll(open: Int)
    /// The progress of a running (or just finished) replay.
    case replayProgress
    /// Asks before requeueing every failed message of a queue at the broker.
    case confirmRequeueAll(RequeueRequest)
    /// The progress of a running (or just finished) requeue from the queue with this name.
    case requeueProgress(queue: String)

    var scope: KeyScope {
        switch self {
        case .help, .detail: return .detail
        case .trigger, .faults: return .form
        case .confirmReplayAll, .replayProgress, .confirmRequeueAll, .requeueProgress: return .prompt
        }
    }
}

/// Failed messages of one queue to move back to that queue at the broker.
public struct RequeueRequest: Sendable, Equatable {
    /// `system:queue`, as the Queues pane names it.
    public var queue: String
    public var messages: [FailedMessage]
    /// The broker written to, for the question and the refusal without write mode.
    public var brokerLabel: String
    /// Whether the requeue goes on after `messages`, reading the queue's
    /// failed messages from the broker again until none is left that it has
    /// not tried. The detail view lists only the newest ones, so R needs this
    /// to requeue them all.
    public var drainsQueue: Bool
    /// How many failed messages the queue has, as the question states it:
    /// the broker's own count when the probe reads one, else the listed count.
    public var expectedCount: Int

    public init(queue: String, messages: [FailedMessage], brokerLabel: String, drainsQueue: Bool = false, expectedCount: Int? = nil) {
        self.queue = queue
        self.messages = messages
        self.brokerLabel = brokerLabel
        self.drainsQueue = drainsQueue
        self.expectedCount = max(expectedCount ?? messages.count, messages.count)
    }
}

/// The subject of a detail view.
public enum DetailTarget: Sendable {
    /// Looked up in each snapshot by name, so its figures stay live.
    case dispatcher(String)
    /// A copy taken when the view opened: the batch may leave the live list.
    case batch(LiveBatch)
    /// Looked up in each snapshot by name. The broker's failed messages of
    /// that queue are read when the view opens and every two seconds after.
    /// `selected` is the position of the failed message that `r` requeues.
    case queue(String, brokerFailures: BrokerFailures, selected: Int = 0)
    /// A journal entry being read.
    case loadingFailure(Int64)
    case failure(FailureDetail)

    /// The journal id of the failure shown, read or still being read.
    var failureID: Int64? {
        switch self {
        case .failure(let detail): return detail.record.id
        case .loadingFailure(let id): return id
        case .dispatcher, .batch, .queue: return nil
        }
    }

    /// The dispatcher of the failure shown, once its entry is read.
    var failureDispatcher: String? {
        if case .failure(let detail) = self { return detail.record.batch.dispatcher }
        return nil
    }
}

/// The failed messages a broker keeps for one queue, as far as they are read.
public enum BrokerFailures: Sendable {
    case loading
    /// No broker is configured, so the journal is the only record of failures.
    case noBroker
    case loaded([FailedMessage])

    /// The messages read, or none while reading or without a broker.
    var messages: [FailedMessage] {
        if case .loaded(let messages) = self { return messages }
        return []
    }
}

/// A journal entry with its replay history, read when its detail view opens.
public struct FailureDetail: Sendable {
    public var record: FailureRecord
    public var replays: [ReplayRecord]

    public init(record: FailureRecord, replays: [ReplayRecord]) {
        self.record = record
        self.replays = replays
    }
}

/// One replay of a journal entry.
public struct ReplayRecord: Sendable, Equatable {
    public var at: Double
    public var dispatcher: String
    public var outcome: String
    public var error: String?

    public init(at: Double, dispatcher: String, outcome: String, error: String?) {
        self.at = at
        self.dispatcher = dispatcher
        self.outcome = outcome
        self.error = error
    }
}

/// A message in the status line, which clears itself.
public struct StatusMessage: Sendable, Equatable {
    public enum Level: String, Sendable {
        case info, warning, error
    }

    /// What a message is about, so the action it reports on can clear it.
    public enum Topic: Sendable {
        case general
        /// A warning about the filter line, cleared when a filter applies cleanly.
        case filter
    }

    public var text: String
    public var level: Level
    /// Seconds since the Unix epoch after which it is no longer shown.
    public var expiresAt: Double
    public var topic = Topic.general
    /// The end of ``text`` that names the fix; the status line
    /// shortens the rest of the text before it cuts this.
    public var fix: String?

    /// How long a message stays, in seconds.
    public static let lifetime = 6.0
}
