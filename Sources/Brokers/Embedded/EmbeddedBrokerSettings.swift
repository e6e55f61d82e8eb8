import Foundation

/// Delivery settings of the embedded broker: consumers, and the retry and
/// redelivery rules each system is known for.
///
/// The defaults follow each system's own defaults, so a failing batch takes
/// as long to give up as it would in production (a Dramatiq message retried
/// 20 times takes days to be dead-lettered). Tests and demos shorten them
/// with ``fast``.
public struct EmbeddedBrokerSettings: Sendable {
    /// Consumer threads per system.
    public var consumersPerSystem: Int
    /// Celery: seconds a message whose consumer was lost stays unacknowledged
    /// before it goes back to its queue. kombu's Redis `visibility_timeout`
    /// is 3600 s. A consumer still running its batch keeps the message.
    public var celeryVisibilityTimeout: Double
    /// Celery: how many times a message is delivered again after its first
    /// delivery, for a failure that raises or a consumer lost before the
    /// acknowledgement. Celery's `Task.max_retries` default is 3.
    public var celeryMaxRedeliveries: Int
    /// Dramatiq: retries before a message is dead-lettered (the Retries
    /// middleware's `max_retries`, 20 by default).
    public var dramatiqMaxRetries: Int
    /// Dramatiq: seconds before the first retry (`min_backoff`, 15 s by
    /// default). Retry n waits `min_backoff × 2^(n-1)` seconds, capped at
    /// ``dramatiqMaxBackoff``, with no jitter, so that delays are
    /// reproducible; Dramatiq adds random jitter on top.
    public var dramatiqMinBackoff: Double
    /// Dramatiq: the longest wait before a retry, in seconds (7 days by default).
    public var dramatiqMaxBackoff: Double
    /// Failed and dead-lettered messages kept per queue; the oldest is
    /// dropped (and counted) beyond it. The failure journal keeps every one.
    public var failedCapacity: Int
    /// Seconds since the Unix epoch; deliveries, deadlines and failure times use it.
    public var clock: @Sendable () -> Double
    /// A new broker message id: a uuid4 string for Celery, RQ and Dramatiq,
    /// 32 hexadecimal digits for django-q, as each system writes them.
    public var makeMessageID: @Sendable (BrokerSystem) -> String

    public init(
        consumersPerSystem: Int = 2, celeryVisibilityTimeout: Double = 3600, celeryMaxRedeliveries: Int = 3,
        dramatiqMaxRetries: Int = 20, dramatiqMinBackoff: Double = 15, dramatiqMaxBackoff: Double = 7 * 86_400,
        failedCapacity: Int = 10_000, clock: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 },
        makeMessageID: @escaping @Sendable (BrokerSystem) -> String = EmbeddedBrokerSettings.randomMessageID
    ) {
        precondition(consumersPerSystem >= 1, "the embedded broker needs at least one consumer per system")
        self.consumersPerSystem = consumersPerSystem
        self.celeryVisibilityTimeout = celeryVisibilityTimeout
        self.celeryMaxRedeliveries = max(0, celeryMaxRedeliveries)
        self.dramatiqMaxRetries = max(0, dramatiqMaxRetries)
        self.dramatiqMinBackoff = max(0, dramatiqMinBackoff)
        self.dramatiqMaxBackoff = max(0, dramatiqMaxBackoff)
        self.failedCapacity = max(1, failedCapacity)
        self.clock = clock
        self.makeMessageID = makeMessageID
    }

    /// Settings for demos and tests: 2 s Celery visibility, 3 Celery
    /// redeliveries, 3 Dramatiq retries from 50 ms up to 1 s.
    public static var fast: EmbeddedBrokerSettings {
        EmbeddedBrokerSettings(
            celeryVisibilityTimeout: 2, celeryMaxRedeliveries: 3, dramatiqMaxRetries: 3, dramatiqMinBackoff: 0.05,
            dramatiqMaxBackoff: 1)
    }

    /// Returns the wait before Dramatiq retry number `retry` (1 for the first), in seconds.
    public func dramatiqBackoff(retry: Int) -> Double {
        let exponent = Double(min(max(retry - 1, 0), 62))
        return min(dramatiqMinBackoff * pow(2, exponent), dramatiqMaxBackoff)
    }

    /// Returns a random message id in the form `system` uses.
    public static func randomMessageID(for system: BrokerSystem) -> String {
        let id = UUID().uuidString.lowercased()
        return system == .djangoQ ? id.replacingOccurrences(of: "-", with: "") : id
    }
}
