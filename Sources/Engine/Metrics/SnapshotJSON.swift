/// The JSON form of an ``EngineSnapshot``, for `--once --format json`.
public enum SnapshotJSON {
    public static func encode(_ snapshot: EngineSnapshot, source: String) -> JSONValue {
        var root = JSONObject()
        root.appendUnchecked("time", .double(snapshot.time))
        root.appendUnchecked("source", .string(source))
        root.appendUnchecked("events", events(snapshot.events))
        root.appendUnchecked("broker", snapshot.brokerStatus.map(service) ?? .null)
        root.appendUnchecked("cache", snapshot.cacheStatus.map(service) ?? .null)
        root.appendUnchecked("outbox_waiting", .int(Int64(snapshot.outboxWaiting)))
        root.appendUnchecked("dispatchers", .array(snapshot.dispatchers.map(dispatcher)))
        root.appendUnchecked("queues", .array(snapshot.queues.map(queue)))
        root.appendUnchecked("live_batches", .array(snapshot.liveBatches.prefix(100).map(batch)))
        root.appendUnchecked(
            "failures",
            [
                "total": .int(Int64(snapshot.failures.total)), "open": .int(Int64(snapshot.failures.open)),
                "recent": .array(snapshot.failures.rows.suffix(20).reversed().map(failure)),
            ])
        return .object(root)
    }

    static func events(_ counters: EventCounters) -> JSONValue {
        [
            "read": .int(Int64(counters.read)), "rejected": .int(Int64(counters.rejected)),
            "skipped_empty_update": .int(Int64(counters.skippedEmpty)), "dispatches": .int(Int64(counters.dispatches)),
            "rate_per_second": .double(counters.ratePerSecond),
            "last_rejection": counters.lastRejection.map(JSONValue.string) ?? .null,
        ]
    }

    static func service(_ status: ServiceStatus) -> JSONValue {
        ["label": .string(status.label), "up": .bool(status.isUp), "detail": status.detail.map(JSONValue.string) ?? .null]
    }

    static func dispatcher(_ figures: DispatcherSnapshot) -> JSONValue {
        func micros(_ value: UInt64?) -> JSONValue { value.map { .int(Int64($0)) } ?? .null }
        return [
            "name": .string(figures.name), "runs_on": .string(figures.runsOn), "batching": .bool(figures.batching),
            "rules": .int(Int64(figures.ruleCount)), "dispatched": .int(Int64(figures.dispatched)),
            "in_flight": .int(Int64(figures.inFlight)), "queued": .int(Int64(figures.queued)),
            "done": .int(Int64(figures.done)), "failed": .int(Int64(figures.failed)),
            "replayed": .int(Int64(figures.replayed)), "retried": .int(Int64(figures.retried)),
            "sent": .int(Int64(figures.sent)), "dead_lettered": .int(Int64(figures.deadLettered)),
            "queue_wait_p50_us": micros(figures.queueWaitP50), "queue_wait_p99_us": micros(figures.queueWaitP99),
            "run_time_p50_us": micros(figures.runTimeP50), "run_time_p99_us": micros(figures.runTimeP99),
            "rate_1s": .double(figures.rate1s), "rate_10s": .double(figures.rate10s), "rate_60s": .double(figures.rate60s),
        ]
    }

    static func queue(_ queue: QueueSnapshot) -> JSONValue {
        func count(_ value: Int?) -> JSONValue { value.map { .int(Int64($0)) } ?? .null }
        let depth = queue.depth
        return [
            "name": .string(depth.name), "source": .string(depth.source), "ready": count(depth.ready),
            "in_flight": count(depth.inFlight), "delayed": count(depth.delayed), "failed": count(depth.failed),
            "read_at": .double(depth.readAt), "note": depth.note.map(JSONValue.string) ?? .null,
        ]
    }

    static func batch(_ batch: LiveBatch) -> JSONValue {
        [
            "batch": .int(Int64(batch.id)), "dispatcher": .string(batch.dispatcher), "model": .string(batch.model),
            "pk": batch.pk, "rule_ids": .array(batch.ruleIDs.map(JSONValue.string)), "state": .string(batch.state.rawValue),
            "created_at": .double(batch.createdAt), "error": batch.error.map(JSONValue.string) ?? .null,
        ]
    }

    static func failure(_ row: FailureSummary) -> JSONValue {
        [
            "id": .int(row.id), "batch": .int(Int64(row.batchID)), "dispatcher": .string(row.dispatcher),
            "model": .string(row.model), "pk": row.pk, "rule_ids": .array(row.ruleIDs.map(JSONValue.string)),
            "error": .string(row.error), "status": .string(row.status.rawValue), "attempts": .int(Int64(row.attempts)),
            "at": .double(row.lastFailedAt),
        ]
    }
}
