/// One dispatch call: a group of rules for one event, handed to one dispatcher.
public struct Batch: Sendable, Equatable {
    /// Unique within the process, increasing in dispatch order.
    public var id: UInt64
    public var dispatcher: String
    public var batchKey: String
    public var model: String
    public var pk: JSONValue
    public var signal: ChangeSignal
    /// The 0-based index of the event it came from, when it came from one.
    public var eventIndex: Int?
    /// Stable rule ids, in rule order.
    public var ruleIDs: [String]
    /// restflow's numeric ids of the same rules, in the same order.
    public var restflowRuleIDs: [Int]
    /// Rule arguments keyed by stable rule id.
    public var ruleKwargs: JSONObject
    /// The dispatcher's resolved options.
    public var options: JSONObject
    /// The error policy after resolution: propagate failures to the
    /// dispatcher or broker (so it can retry or dead-letter) or only log them.
    public var raiseException: Bool
    /// Seconds since the Unix epoch.
    public var createdAt: Double
    /// The journal entry this batch replays, if it is a replay.
    public var replayOf: Int64?
    /// 1 for the first delivery, counting up with each retry.
    public var attempt: Int
    /// The encoded message a broker dispatcher sent, kept so a replay can
    /// send the same bytes.
    public var payload: [UInt8]?

    public init(
        id: UInt64, dispatcher: String, batchKey: String, model: String, pk: JSONValue, signal: ChangeSignal,
        eventIndex: Int? = nil, ruleIDs: [String], restflowRuleIDs: [Int], ruleKwargs: JSONObject,
        options: JSONObject = JSONObject(), raiseException: Bool = false, createdAt: Double, replayOf: Int64? = nil,
        attempt: Int = 1, payload: [UInt8]? = nil
    ) {
        self.id = id
        self.dispatcher = dispatcher
        self.batchKey = batchKey
        self.model = model
        self.pk = pk
        self.signal = signal
        self.eventIndex = eventIndex
        self.ruleIDs = ruleIDs
        self.restflowRuleIDs = restflowRuleIDs
        self.ruleKwargs = ruleKwargs
        self.options = options
        self.raiseException = raiseException
        self.createdAt = createdAt
        self.replayOf = replayOf
        self.attempt = attempt
        self.payload = payload
    }
}

/// Why a batch failed, structured so the console can filter and group.
public struct BatchError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A short machine-readable kind.
    public enum Kind: String, Sendable, CaseIterable {
        /// A cache store operation failed.
        case cache
        /// A fault injected by the operator for a demo.
        case fault
        /// The batch names a rule the configuration no longer has, or has changed.
        case ruleMissing = "rule_missing"
        /// A custom invalidator failed.
        case invalidator
        /// The broker rejected the message or is unreachable.
        case broker
        /// A broker message could not be decoded.
        case undecodable
        /// A consumer reported a failure that fits no other kind.
        case worker
    }

    public var kind: Kind
    public var message: String
    /// The rule that failed, when one rule did.
    public var ruleID: String?

    public init(kind: Kind, message: String, ruleID: String? = nil) {
        self.kind = kind
        self.message = message
        self.ruleID = ruleID
    }

    public var description: String {
        if let ruleID { return "\(message) (rule \(ruleID))" }
        return message
    }
}

/// How a batch ended, as far as this process can see.
public enum BatchOutcome: Sendable, Equatable {
    case done
    case failed(BatchError)
    /// Handed to an external broker whose workers report nowhere we read.
    case sent
    /// The broker was unreachable; the batch waits in the journal's outbox
    /// and is sent when the broker is back.
    case outbox

    public var label: String {
        switch self {
        case .done: return "done"
        case .failed: return "failed"
        case .sent: return "sent"
        case .outbox: return "outbox"
        }
    }

    public var error: BatchError? {
        if case .failed(let error) = self { return error }
        return nil
    }
}

/// The state of a batch in the console's Live batches pane.
public enum BatchState: String, Sendable, CaseIterable {
    case queued, running, retrying, done, failed, sent, outbox
    /// A broker gave up after its retries and moved the message to its dead-letter list.
    case dead
}

/// The error policy: should a failure propagate to the dispatcher or broker?
public enum ErrorPolicy {
    /// Resolves one rule's policy: the rule's `raise_exception`, then the
    /// dispatcher settings' `RAISE_EXCEPTION`, then the global setting.
    public static func resolve(rule: Bool?, dispatcher: Bool?, global: Bool) -> Bool {
        rule ?? dispatcher ?? global
    }

    /// Resolves a batch: it raises when any of its rules resolves to raise,
    /// so an explicit true anywhere wins over false.
    public static func resolveBatch(rules: [Bool?], dispatcher: Bool?, global: Bool) -> Bool {
        rules.contains { resolve(rule: $0, dispatcher: dispatcher, global: global) }
    }
}
