/// Where a journalled failure stands.
public enum FailureStatus: String, Sendable, CaseIterable {
    /// Failed; waiting for an operator.
    case open
    /// Failed, and the broker will deliver it again.
    case retrying
    /// A later delivery or a replay succeeded.
    case resolved
}

/// One failed batch in the journal, with everything needed to replay it.
public struct FailureRecord: Sendable, Equatable {
    public var id: Int64
    public var batch: Batch
    /// Each rule's fingerprint when it failed, so a replay notices a changed rule.
    public var ruleFingerprints: [String: String]
    public var error: BatchError
    public var attempts: Int
    public var firstFailedAt: Double
    public var lastFailedAt: Double
    public var status: FailureStatus
    public var resolvedAt: Double?
    /// How it was resolved: `retry`, `replay`, `requeue`, `sent`.
    public var resolution: String?
    public var replayCount: Int
    /// Set when a broker moved the message to its dead-letter list.
    public var deadLettered: Bool
    /// The label of the cache store the batch failed against; nil in
    /// journals written before it was recorded.
    public var cache: String? = nil
    /// For a batch of a broker dispatcher, the label of the broker it was
    /// sent to: `embedded`, or a Redis URL without its password. It is nil
    /// for other batches and in journals written before it was recorded.
    public var broker: String? = nil
}

/// A failure as a list row: small, for the console's Failures pane.
public struct FailureSummary: Sendable, Equatable {
    public var id: Int64
    public var batchID: UInt64
    public var dispatcher: String
    public var model: String
    public var pk: JSONValue
    public var ruleIDs: [String]
    public var error: String
    public var errorKind: BatchError.Kind
    public var attempts: Int
    public var lastFailedAt: Double
    public var status: FailureStatus
    public var deadLettered: Bool
    public var replayCount: Int

    init(_ record: FailureRecord) {
        id = record.id
        batchID = record.batch.id
        dispatcher = record.batch.dispatcher
        model = record.batch.model
        pk = record.batch.pk
        ruleIDs = record.batch.ruleIDs
        error = record.error.description
        errorKind = record.error.kind
        attempts = record.attempts
        lastFailedAt = record.lastFailedAt
        status = record.status
        deadLettered = record.deadLettered
        replayCount = record.replayCount
    }

    public init(
        id: Int64, batchID: UInt64, dispatcher: String, model: String, pk: JSONValue, ruleIDs: [String], error: String,
        errorKind: BatchError.Kind, attempts: Int, lastFailedAt: Double, status: FailureStatus, deadLettered: Bool = false,
        replayCount: Int = 0
    ) {
        self.id = id
        self.batchID = batchID
        self.dispatcher = dispatcher
        self.model = model
        self.pk = pk
        self.ruleIDs = ruleIDs
        self.error = error
        self.errorKind = errorKind
        self.attempts = attempts
        self.lastFailedAt = lastFailedAt
        self.status = status
        self.deadLettered = deadLettered
        self.replayCount = replayCount
    }
}

/// The failures a renderer reads: counts from the journal and the newest rows.
public struct FailureListing: Sendable, Equatable {
    /// Every journalled failure, resolved ones included.
    public var total: Int
    /// Failures not resolved.
    public var open: Int
    /// The newest entries, at most the journal's in-memory cap, in journal id
    /// order (oldest of them first).
    public var rows: [FailureSummary]

    public init(total: Int = 0, open: Int = 0, rows: [FailureSummary] = []) {
        self.total = total
        self.open = open
        self.rows = rows
    }
}

/// Which journal entries a replay or a listing covers.
public struct FailureFilter: Sendable, Equatable {
    public var ids: [Int64]?
    public var dispatcher: String?
    public var model: String?
    public var statuses: [FailureStatus]

    public init(ids: [Int64]? = nil, dispatcher: String? = nil, model: String? = nil, statuses: [FailureStatus] = [.open]) {
        self.ids = ids
        self.dispatcher = dispatcher
        self.model = model
        self.statuses = statuses
    }
}
