import Engine

/// Whether actions that write to a broker are allowed.
public enum WriteMode: Sendable, Equatable {
    /// No outside broker (the demo, or a configuration on the embedded
    /// broker): everything stays in this process, so writing is allowed.
    case embedded
    /// A real broker, with `--write` given.
    case write
    /// A real broker without `--write`: replay and trigger are refused.
    case readOnly

    public var allowsWrites: Bool { self != .readOnly }

    var label: String {
        switch self {
        case .embedded: return "writable"
        case .write: return "WRITE mode"
        case .readOnly: return "read-only"
        }
    }

    var shortLabel: String {
        switch self {
        case .embedded: return "rw"
        case .write: return "WRITE"
        case .readOnly: return "ro"
        }
    }
}

/// The screen's inputs besides the engine snapshot: labels for the header,
/// the glyph set and the rules (for the trigger preview and rule names in
/// detail views).
public struct ScreenContext: Sendable {
    public var brokerLabel: String
    public var cacheLabel: String
    public var eventSourceLabel: String
    public var paused: Bool
    /// True once a file source has been read to its end.
    public var sourceFinished: Bool
    /// False when there is no event source: the console watches and the
    /// operator triggers and replays by hand.
    public var hasSource = true
    public var writeMode: WriteMode
    public var ascii: Bool
    public var rules: RuleSet?

    public init(
        brokerLabel: String = "none", cacheLabel: String = "memory", eventSourceLabel: String = "none",
        paused: Bool = false, sourceFinished: Bool = false, writeMode: WriteMode = .embedded, ascii: Bool = false,
        rules: RuleSet? = nil
    ) {
        self.brokerLabel = brokerLabel
        self.cacheLabel = cacheLabel
        self.eventSourceLabel = eventSourceLabel
        self.paused = paused
        self.sourceFinished = sourceFinished
        self.writeMode = writeMode
        self.ascii = ascii
        self.rules = rules
    }

    public var glyphs: Glyphs { ascii ? .ascii : .unicode }
}

/// The state of a replay running in the background, for its progress window.
public struct ReplayJobStatus: Sendable, Equatable {
    /// "Replay of 3 failures" or "Replay of all open failures".
    public var title: String
    public var completed: Int
    /// 0 until the list of entries is known.
    public var total: Int
    public var last: ReplayItem?
    /// Set when the replay has ended.
    public var summary: ReplaySummary?
    public var stopping: Bool

    public init(title: String, completed: Int = 0, total: Int = 0, last: ReplayItem? = nil, summary: ReplaySummary? = nil, stopping: Bool = false) {
        self.title = title
        self.completed = completed
        self.total = total
        self.last = last
        self.summary = summary
        self.stopping = stopping
    }

    public var isFinished: Bool { summary != nil }
}

/// Everything one frame is drawn from.
public struct FrameInput: Sendable {
    public var snapshot: EngineSnapshot
    public var state: ConsoleState
    public var context: ScreenContext
    public var replay: ReplayJobStatus?
    public var requeue: RequeueJobStatus?
    /// When each queue's figures were last read, kept across snapshots by the console.
    public var queueReadings: QueueReadingTimes

    public init(
        snapshot: EngineSnapshot, state: ConsoleState = ConsoleState(), context: ScreenContext = ScreenContext(),
        replay: ReplayJobStatus? = nil, requeue: RequeueJobStatus? = nil, queueReadings: QueueReadingTimes? = nil
    ) {
        self.snapshot = snapshot
        self.state = state
        self.context = context
        self.replay = replay
        self.requeue = requeue
        if let queueReadings {
            self.queueReadings = queueReadings
        } else {
            var readings = QueueReadingTimes()
            readings.record(snapshot.queues)
            self.queueReadings = readings
        }
    }

    /// The time shown: the snapshot's, so a frame depends on its input only.
    public var now: Double { snapshot.time }
}
