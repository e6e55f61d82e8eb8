import Engine

/// The origin of each of a queue reading's four figures, as the console
/// explains them in a queue's detail view.
///
/// NOTE: a reading carries one source text for all four figures, so this
/// table matches the texts the embedded and Redis probes write. A source
/// it does not know is shown once for the whole reading instead. Giving
/// ``QueueDepth`` a source per figure would make this table unnecessary.
enum QueueFigureSources {
    /// Returns the sources of ready, in flight, delayed and failed, in that
    /// order, or nil for a source text this table does not know.
    static func sources(of depth: QueueDepth) -> [String]? {
        switch depth.source {
        case "embedded":
            return [
                "embedded broker, messages waiting in the queue",
                "embedded broker, messages delivered and not yet acknowledged",
                "embedded broker, retries waiting for their delay",
                "embedded broker, failed and dead-lettered messages",
            ]
        case "redis LLEN of 4 priority lists, HSCAN unacked":
            return [
                "redis LLEN of the queue and its 3 priority lists",
                "redis HSCAN of the unacked hash, entries of this queue",
                "not kept by Celery in Redis",
                "not kept by Celery in Redis (a result backend keeps failures)",
            ]
        case "redis LLEN queue, ZCARD wip/scheduled/deferred/failed":
            return [
                "redis LLEN of the queue list",
                "redis LLEN of the :intermediate list plus ZCARD of the wip registry",
                "redis ZCARD of the scheduled and deferred registries",
                "redis ZCARD of the failed registry",
            ]
        case "redis LLEN queue, HLEN .msgs/.DQ.msgs, ZCARD .XQ":
            return [
                "redis LLEN of the queue list",
                "redis HLEN of the .msgs hash, less the ready count",
                "redis HLEN of the .DQ.msgs hash (retries and delayed messages)",
                "redis ZCARD of the .XQ dead-letter set",
            ]
        case "redis LLEN":
            return [
                "redis LLEN of the cluster's list",
                "not recorded by django-q2 in Redis",
                "not recorded by django-q2 in Redis",
                "not read: the Django database path is not set",
            ]
        case "redis LLEN, sqlite django_q_task (all clusters)":
            return [
                "redis LLEN of the cluster's list",
                "not recorded by django-q2 in Redis",
                "not recorded by django-q2 in Redis",
                "sqlite django_q_task, failed tasks of all clusters",
            ]
        default:
            return nil
        }
    }

    /// Returns whether the reading contains any figure. A probe that could
    /// not reach the broker reports none.
    static func hasFigures(_ depth: QueueDepth) -> Bool {
        depth.ready != nil || depth.inFlight != nil || depth.delayed != nil || depth.failed != nil
    }
}

/// The time of each queue's last reading that held figures, so an outage
/// shows how old the last known numbers are instead of a fresh age.
public struct QueueReadingTimes: Sendable, Equatable {
    /// Seconds since the Unix epoch, by queue name (`system:queue`).
    public private(set) var lastRead: [String: Double] = [:]

    public init() {}

    /// Records the readings of one snapshot; a reading without figures leaves the last time as it was.
    public mutating func record(_ queues: [QueueSnapshot]) {
        for queue in queues where QueueFigureSources.hasFigures(queue.depth) {
            lastRead[queue.depth.name] = max(lastRead[queue.depth.name] ?? 0, queue.depth.readAt)
        }
    }

    /// Returns when `depth`'s figures were last read: its own time when it
    /// contains figures, else the last reading that did, or nil when none did.
    public func readAt(_ depth: QueueDepth) -> Double? {
        QueueFigureSources.hasFigures(depth) ? depth.readAt : lastRead[depth.name]
    }
}
