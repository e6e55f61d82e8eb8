import Brokers
import Engine

/// Work a key requests that reaches outside the screen state: the engine,
/// the event source, the journal. ``ConsoleApp`` carries it out.
public enum ConsoleEffect: Sendable, Equatable {
    case quit
    case replay([Int64])
    case replayAll
    case stopReplay
    case trigger(ChangeEvent)
    case setFault(String, FaultSetting)
    case togglePause
    case adjustRate(faster: Bool)
    case loadFailureDetail(Int64)
    /// Reads the broker's failed messages of the queue with this name.
    case loadBrokerFailures(String)
    /// Moves failed messages back to their queue at the broker, on a background thread.
    case requeue(RequeueRequest)
    case stopRequeue
    case redraw
}

/// The facts about the world outside the screen that the key handler needs.
public struct ControlContext: Sendable {
    public var now: Double
    /// Whether actions that write (replay, requeue, trigger) are allowed.
    public var canWrite: Bool
    public var isDemoSource: Bool
    public var replayRunning: Bool
    public var requeueRunning: Bool
    public var models: [String]
    public var dispatcherNames: [String]
    public var faults: [String: FaultSetting]
    public var openFailures: Int
    /// Where writes go, for the message that refuses one without write mode.
    public var writeTargets: WriteTargets

    public init(
        now: Double, canWrite: Bool = true, isDemoSource: Bool = true, replayRunning: Bool = false,
        requeueRunning: Bool = false, models: [String] = [], dispatcherNames: [String] = [], faults: [String: FaultSetting] = [:], openFailures: Int = 0,
        writeTargets: WriteTargets = WriteTargets()
    ) {
        self.now = now
        self.canWrite = canWrite
        self.isDemoSource = isDemoSource
        self.replayRunning = replayRunning
        self.requeueRunning = requeueRunning
        self.models = models
        self.dispatcherNames = dispatcherNames
        self.faults = faults
        self.openFailures = openFailures
        self.writeTargets = writeTargets
    }
}

/// The broker and the cache that replays, requeues and triggers write to, named in
/// the status message that refuses a write without `--write`.
public struct WriteTargets: Sendable, Equatable {
    public var brokerLabel: String
    public var cacheLabel: String
    /// The dispatchers of the configured rules, which a trigger can run.
    public var ruleDispatchers: [String]

    public init(brokerLabel: String = "none", cacheLabel: String = "memory", ruleDispatchers: [String] = []) {
        self.brokerLabel = brokerLabel
        self.cacheLabel = cacheLabel
        self.ruleDispatchers = ruleDispatchers
    }

    /// Returns "<subject> writes to the broker X and the cache Y; restart
    /// with --write to allow it.", naming only what the dispatchers write to.
    ///
    /// A broker dispatcher (celery, django_rq, django_q, dramatiq) writes to
    /// the broker; any other runs in this process and writes to the cache.
    /// An unknown dispatcher (nil) counts as both.
    func refusal(_ subject: String, dispatchers: [String?]) -> String {
        let toBroker = dispatchers.contains { $0.map { BrokerSystem(rawValue: $0) != nil } ?? true }
        let toCache = dispatchers.isEmpty || dispatchers.contains { $0.map { BrokerSystem(rawValue: $0) == nil } ?? true }
        var targets: [String] = []
        if toBroker { targets.append(Self.brokerPhrase(brokerLabel)) }
        if toCache { targets.append(Self.cachePhrase(cacheLabel)) }
        return "\(subject) writes to \(targets.joined(separator: " and ")); \(Self.writeFix)"
    }

    /// Names the broker in a sentence: "the embedded broker", or "the broker" and its URL.
    static func brokerPhrase(_ label: String) -> String {
        label == "embedded" ? "the embedded broker" : "the broker \(label)"
    }

    /// Names the cache in a sentence: "the memory cache", or "the cache" and its URL.
    static func cachePhrase(_ label: String) -> String {
        label == "memory" ? "the memory cache" : "the cache \(label)"
    }

    /// The end of every refusal, which the status line always shows.
    static let writeFix = "restart with --write to allow it."
}
