import Engine

/// Queue depth probes: read-only, and O(1) per figure (LLEN, HLEN, ZCARD)
/// except Celery's in-flight count, which reads the `unacked` hash.
///
/// One probe sends one pipeline of counts for every known queue. Celery's
/// `unacked` hash contains the delivered, unacknowledged messages of every
/// queue, so counting one queue's share means reading the entries: HLEN
/// first, then HSCAN only when the hash has at most
/// ``RedisBrokerSettings/unackedScanLimit`` entries. That costs O(n) in the
/// hash size, bounded by the limit, once per probe for all Celery queues
/// together; above the limit the per-queue figure is left out.
extension RedisBroker {
    public func depths() -> [QueueDepth] {
        let now = clock()
        let queues = queues
        var commands: [RedisCommand] = []
        var ranges: [Range<Int>] = []
        for queue in queues {
            let start = commands.count
            commands += probeCommands(queue)
            ranges.append(start..<commands.count)
        }
        let replies: [RedisReply]
        do {
            replies = try reader.pipeline(commands)
        } catch {
            return queues.map { queue in
                QueueDepth(
                    name: queue.name, source: "redis", ready: nil, inFlight: nil, delayed: nil, failed: nil, readAt: now,
                    note: "Redis is unavailable: \(error.message)")
            }
        }
        let unacked = queues.contains { $0.system == .celery } ? celeryUnacked() : nil
        let djangoQFailures = queues.contains { $0.system == .djangoQ } ? djangoQFailureCount() : nil
        return zip(queues, ranges).map { queue, range in
            let counts = replies[range].map { $0.integerValue.map { Int($0) } }
            var depth: QueueDepth
            switch queue.system {
            case .celery: depth = celeryDepth(queue, counts, unacked: unacked, at: now)
            case .rq: depth = rqDepth(queue, counts, at: now)
            case .dramatiq: depth = dramatiqDepth(queue, counts, at: now)
            case .djangoQ: depth = djangoQDepth(queue, counts, failures: djangoQFailures, at: now)
            }
            if let rejection = probeRejection(queue, commands: commands[range], replies: replies[range]) {
                depth.note = [rejection, depth.note].compactMap { $0 }.joined(separator: "; ")
                depth.probeError = rejection
            }
            return depth
        }
    }

    /// Describes the first count Redis rejected for a queue, such as a key
    /// of another type (WRONGTYPE), and logs it the first time it is seen.
    /// The figures it left out show as unknown.
    private func probeRejection(
        _ queue: QueueReference, commands: ArraySlice<RedisCommand>, replies: ArraySlice<RedisReply>
    ) -> String? {
        guard let index = replies.indices.first(where: { replies[$0].errorMessage != nil }),
            let message = replies[index].errorMessage
        else { return nil }
        let command = commands[index]
        let key = command.arguments.count > 1 ? String(decoding: command.arguments[1], as: UTF8.self) : "?"
        let text = "Redis rejected \(command.name) \(key): \(message)"
        let isNew = loggedProbeErrors.withLock { $0.insert("\(queue.name) \(text)").inserted }
        if isNew {
            logger.warning("Queue probe rejected", [(LogKey.queue, queue.name), (LogKey.error, text)])
        }
        return text
    }

    private func probeCommands(_ queue: QueueReference) -> [RedisCommand] {
        let name = queue.queue
        switch queue.system {
        case .celery:
            return CeleryMessage.queueKeys(name, keyPrefix: settings.celeryKeyPrefix).map { RedisCommand("LLEN", $0) }
        case .rq:
            let prefix = settings.rqKeyPrefix
            let queueKey = RQJob.queueKey(name, keyPrefix: prefix)
            return [
                RedisCommand("LLEN", queueKey), RedisCommand("LLEN", queueKey + ":intermediate"),
                RedisCommand("ZCARD", RQJob.registryKey("wip", queue: name, keyPrefix: prefix)),
                RedisCommand("ZCARD", RQJob.registryKey("scheduled", queue: name, keyPrefix: prefix)),
                RedisCommand("ZCARD", RQJob.registryKey("deferred", queue: name, keyPrefix: prefix)),
                RedisCommand("ZCARD", RQJob.registryKey("failed", queue: name, keyPrefix: prefix)),
            ]
        case .dramatiq:
            let namespace = settings.dramatiqNamespace
            return [
                RedisCommand("LLEN", DramatiqMessage.queueKey(name, namespace: namespace)),
                RedisCommand("HLEN", DramatiqMessage.messagesKey(name, namespace: namespace)),
                RedisCommand("HLEN", DramatiqMessage.delayedMessagesKey(name, namespace: namespace)),
                RedisCommand("ZCARD", DramatiqMessage.deadLetterKey(name, namespace: namespace)),
            ]
        case .djangoQ:
            return [RedisCommand("LLEN", DjangoQPackage.listKey(cluster: name))]
        }
    }

    // MARK: - Per system

    private func celeryDepth(
        _ queue: QueueReference, _ counts: [Int?], unacked: CeleryUnacked?, at time: Double
    ) -> QueueDepth {
        var notes = ["Celery keeps failures only in a result backend"]
        var inFlight: Int?
        switch unacked {
        case .counted(let byQueue)?: inFlight = byQueue[queue.queue] ?? 0
        case .tooMany(let total)?:
            notes.append("unacked holds \(total) messages, over the scan limit of \(settings.unackedScanLimit)")
        case nil: notes.append("the unacked hash could not be read")
        }
        return QueueDepth(
            name: queue.name, source: "redis LLEN of 4 priority lists, HSCAN unacked", ready: sum(counts),
            inFlight: inFlight, delayed: nil, failed: nil, readAt: time, note: notes.joined(separator: "; "))
    }

    private func rqDepth(_ queue: QueueReference, _ counts: [Int?], at time: Double) -> QueueDepth {
        QueueDepth(
            name: queue.name, source: "redis LLEN queue, ZCARD wip/scheduled/deferred/failed", ready: counts[0],
            inFlight: sum([counts[1], counts[2]]), delayed: sum([counts[3], counts[4]]), failed: counts[5], readAt: time)
    }

    private func dramatiqDepth(_ queue: QueueReference, _ counts: [Int?], at time: Double) -> QueueDepth {
        // The .msgs hash contains every message not yet acknowledged, whether it is
        // still in the list or fetched by a worker, so the difference is in flight.
        let inFlight = counts[1].flatMap { unfinished in counts[0].map { max(0, unfinished - $0) } }
        return QueueDepth(
            name: queue.name, source: "redis LLEN queue, HLEN .msgs/.DQ.msgs, ZCARD .XQ", ready: counts[0],
            inFlight: inFlight, delayed: counts[2], failed: counts[3], readAt: time)
    }

    private func djangoQDepth(
        _ queue: QueueReference, _ counts: [Int?], failures: Result<Int, DjangoQTaskTable.ReadError>?, at time: Double
    ) -> QueueDepth {
        var notes = ["django-q2 records no running tasks in Redis"]
        // NOTE: Redis does not show which lists a qcluster reads. A running
        // cluster writes only `django_q:<name>:cluster:<uuid>` status keys,
        // and their signed Stat does not name the list it pops. So without
        // the `clusters` setting, a task for a cluster that no qcluster runs
        // is reported as sent, and only this list's ready count growing
        // shows it. Listing the clusters in the settings is the fix.
        if let clusters = settings.djangoQ.clusters, !clusters.contains(queue.queue) {
            notes.append("no configured cluster reads this list")
        }
        var failed: Int?
        var source = "redis LLEN"
        switch failures {
        case .success(let count)?:
            failed = count
            source += ", sqlite django_q_task (all clusters)"
        case .failure(let error)?: notes.append(error.message)
        case nil:
            notes.append("failures live in the Django database (django_q_task); set a database path to count them")
        }
        return QueueDepth(
            name: queue.name, source: source, ready: counts[0], inFlight: nil, delayed: nil, failed: failed, readAt: time,
            note: notes.joined(separator: "; "))
    }

    private func sum(_ counts: [Int?]) -> Int? {
        counts.reduce(Int?(0)) { total, count in total.flatMap { sum in count.map { sum + $0 } } }
    }

    // MARK: - Celery unacked

    enum CeleryUnacked {
        /// Unacknowledged messages per routing key (queue).
        case counted([String: Int])
        /// The hash was over the scan limit; only its size was read.
        case tooMany(Int)
    }

    /// Counts the `unacked` entries per queue, reading them only when there are at most the scan limit.
    func celeryUnacked() -> CeleryUnacked? {
        let key = CeleryMessage.unackedKey(keyPrefix: settings.celeryKeyPrefix)
        let limit = max(1, settings.unackedScanLimit)
        guard let total = try? reader.execute(RedisCommand("HLEN", key)).integerValue else { return nil }
        guard total <= limit else { return .tooMany(Int(total)) }
        var byQueue: [String: Int] = [:]
        var cursor = "0"
        var rounds = 0
        repeat {
            guard let reply = try? reader.execute(RedisCommand("HSCAN", key, cursor, "COUNT", limit)).arrayValue,
                reply.count == 2, let next = reply[0].stringValue, let items = reply[1].arrayValue
            else { return nil }
            for index in stride(from: 1, to: items.count, by: 2) {
                if let queue = Self.routingKey(ofUnacked: items[index].bytesValue ?? []) {
                    byQueue[queue, default: 0] += 1
                }
            }
            cursor = next
            rounds += 1
            // COUNT is only a hint, so a hash of at most COUNT entries may
            // still take a few calls. The cap bounds the work when the hash
            // grows during the scan, and then the count is unknown.
        } while cursor != "0" && rounds < 16
        return cursor == "0" ? .counted(byQueue) : nil
    }

    /// Returns the routing key (third element) of an `unacked` value `[message, exchange, routing_key]`.
    static func routingKey(ofUnacked value: [UInt8]) -> String? {
        guard let parsed = try? JSONParser.parse(String(decoding: value, as: UTF8.self)),
            let parts = parsed.arrayValue, parts.count >= 3
        else { return nil }
        return parts[2].stringValue
    }

    // MARK: - django-q failures

    private func djangoQFailureCount() -> Result<Int, DjangoQTaskTable.ReadError>? {
        guard let path = settings.djangoQ.databasePath else { return nil }
        return Result { () throws(DjangoQTaskTable.ReadError) -> Int in
            try DjangoQTaskTable(path: path).failureCount()
        }
    }
}
