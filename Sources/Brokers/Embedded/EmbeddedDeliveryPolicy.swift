import Engine

/// The handling of a message whose batch failed, per system, after the
/// error policy.
enum FailurePlan: Equatable {
    /// The failure is only journalled; the message is acknowledged.
    case acknowledge
    /// Celery: back to the end of its queue for another delivery.
    case redeliver
    /// Dramatiq: to the delayed queue, delivered again after this many seconds.
    case retry(after: Double)
    /// To the failed list: RQ's failed job registry, django-q's failure
    /// record, or a Celery message out of redeliveries.
    case fail
    /// Dramatiq, out of retries: to the dead-letter queue.
    case deadLetter

    /// Whether the executor keeps the batch live after a failure. A dead
    /// letter needs that too, because the consumer then reports the dead
    /// letter itself, which only a live batch can be.
    var executorWillRetry: Bool {
        switch self {
        case .redeliver, .retry, .deadLetter: return true
        case .acknowledge, .fail: return false
        }
    }
}

enum EmbeddedDeliveryPolicy {
    /// Returns the plan for a failure on delivery number `delivery` (1 for the first).
    ///
    /// A batch whose error policy does not raise is acknowledged, so the
    /// failure is journalled and never retried. One that raises meets its
    /// system's semantics. Celery redelivers up to its limit, then fails.
    /// RQ moves the job to its failed registry. Dramatiq retries with
    /// exponential backoff, then dead-letters. django-q records a failure.
    static func plan(
        system: BrokerSystem, raiseException: Bool, delivery: Int, settings: EmbeddedBrokerSettings
    ) -> FailurePlan {
        guard raiseException else { return .acknowledge }
        switch system {
        case .celery:
            return delivery <= settings.celeryMaxRedeliveries ? .redeliver : .fail
        case .rq, .djangoQ:
            return .fail
        case .dramatiq:
            return delivery <= settings.dramatiqMaxRetries ? .retry(after: settings.dramatiqBackoff(retry: delivery)) : .deadLetter
        }
    }

    /// Returns the plan for a failure that another delivery cannot fix: a rule that
    /// is gone or changed, or a body that cannot be decoded. Dramatiq
    /// dead-letters such a message at once, as it does one for an unknown actor.
    static func planWithoutRetry(system: BrokerSystem, raiseException: Bool) -> FailurePlan {
        guard raiseException else { return .acknowledge }
        return system == .dramatiq ? .deadLetter : .fail
    }
}
