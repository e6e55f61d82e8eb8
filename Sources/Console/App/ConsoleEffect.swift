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
    case redraw
}

/// The facts about the world outside the screen that the key handler needs.
public struct ControlContext: Sendable {
    public var now: Double
    /// Whether actions that write (replay, trigger) are allowed.
    public var canWrite: Bool
    public var isDemoSource: Bool
    public var replayRunning: Bool
    public var models: [String]
    public var dispatcherNames: [String]
    public var faults: [String: FaultSetting]
    public var openFailures: Int

    public init(
        now: Double, canWrite: Bool = true, isDemoSource: Bool = true, replayRunning: Bool = false,
        models: [String] = [], dispatcherNames: [String] = [], faults: [String: FaultSetting] = [:], openFailures: Int = 0
    ) {
        self.now = now
        self.canWrite = canWrite
        self.isDemoSource = isDemoSource
        self.replayRunning = replayRunning
        self.models = models
        self.dispatcherNames = dispatcherNames
        self.faults = faults
        self.openFailures = openFailures
    }
}
