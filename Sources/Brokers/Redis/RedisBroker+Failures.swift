import Engine

/// Failed messages and requeue.
///
/// RQ keeps failed jobs in the `rq:failed:<queue>` registry with the error
/// in the job's `rq:results:<id>` stream; Dramatiq keeps dead letters in
/// `<ns>:<queue>.XQ`. django-q2 keeps failures only in the Django database,
/// which is read when ``DjangoQSettings/databasePath`` names a SQLite file.
/// Celery keeps failures only in a result backend, so none are listed.
extension RedisBroker {
    /// Failed RQ jobs and Dramatiq dead letters of the known queues, and
    /// django-q2 failures of every cluster when a database is configured, newest first.
    ///
    /// Reads at most `limit` entries per queue (ZREVRANGE), then one
    /// pipeline of HMGET, XREVRANGE and XLEN per queue, and at most `limit`
    /// rows of `django_q_task`. Returns what it could read; a queue whose
    /// keys cannot be read is left out.
    public func failedMessages(limit: Int) -> [FailedMessage] {
        guard limit > 0 else { return [] }
        var messages: [FailedMessage] = failedDjangoQTasks(limit: limit)
        for queue in queues {
            switch queue.system {
            case .rq: messages += (try? failedRQJobs(queue.queue, limit: limit)) ?? []
            case .dramatiq: messages += (try? deadLetters(queue.queue, limit: limit)) ?? []
            case .celery, .djangoQ: continue
            }
        }
        messages.sort { ($0.failedAt ?? 0) > ($1.failedAt ?? 0) }
        return Array(messages.prefix(limit))
    }

    /// Failed RQ jobs or Dramatiq dead letters of one queue, read from that
    /// queue's keys alone; django-q2 failures of that queue from the database.
    /// Celery keeps none in Redis.
    public func failedMessages(system: BrokerSystem, queue: String, limit: Int) -> [FailedMessage] {
        guard limit > 0 else { return [] }
        switch system {
        case .rq: return (try? failedRQJobs(queue, limit: limit)) ?? []
        case .dramatiq: return (try? deadLetters(queue, limit: limit)) ?? []
        case .djangoQ: return failedDjangoQTasks(limit: limit).filter { $0.queue == queue }
        case .celery: return []
        }
    }

    /// Moves a failed message back to its queue. Needs write mode.
    ///
    /// RQ: ZREM from the failed registry, status `queued` with cleared
    /// start and end times, SADD `rq:queues`, RPUSH the id. Dramatiq: the
    /// stored message moves from `.XQ` back to the queue under the same
    /// `redis_message_id`, with `retries` reset to 0 and `requeue_timestamp`
    /// set. Its arguments and other options stay as stored. Both run as
    /// WATCH/MULTI/EXEC, so a message requeued by someone else in the
    /// meantime is reported as not found instead of being queued twice.
    ///
    /// django-q2: a package with the failed row's id, name, function,
    /// arguments, hook, group and cluster is signed and pushed again, so the
    /// cluster's monitor updates that row in place when the task ends.
    public func requeue(_ message: FailedMessage) throws(BrokerError) {
        try requireWriteMode("requeue a failed message")
        switch message.system {
        case .rq: try requeueRQJob(id: message.messageID, queue: message.queue)
        case .dramatiq: try requeueDeadLetter(message)
        case .djangoQ: try requeueDjangoQTask(id: message.messageID)
        case .celery:
            throw BrokerError(
                .notFound,
                "Cannot requeue Celery task '\(message.messageID)': Celery keeps failed tasks only in a result backend, not in the broker."
            )
        }
        logger.info(
            "Requeued failed message",
            [(LogKey.queue, QueueReference(message.system, message.queue).name), ("message.id", message.messageID)])
    }

    // MARK: - RQ

    private func failedRQJobs(_ queue: String, limit: Int) throws(RedisError) -> [FailedMessage] {
        let prefix = settings.rqKeyPrefix
        let registry = RQJob.registryKey("failed", queue: queue, keyPrefix: prefix)
        let ids = try reader.execute(RedisCommand("ZREVRANGE", registry, 0, limit - 1)).arrayValue?.compactMap(\.stringValue) ?? []
        guard !ids.isEmpty else { return [] }
        var commands: [RedisCommand] = []
        for id in ids {
            commands.append(RedisCommand("HMGET", RQJob.jobKey(id, keyPrefix: prefix), "data", "origin", "ended_at"))
            commands.append(RedisCommand("XREVRANGE", RQJob.resultsKey(id, keyPrefix: prefix), "+", "-", "COUNT", 1))
            commands.append(RedisCommand("XLEN", RQJob.resultsKey(id, keyPrefix: prefix)))
        }
        let replies = try reader.pipeline(commands)
        return ids.enumerated().map { index, id in
            let fields = replies[index * 3].arrayValue ?? []
            let data = fields.first?.bytesValue ?? []
            var message = FailedMessage(
                system: .rq, queue: queue, messageID: id, body: data,
                error: Self.lastRQError(replies[index * 3 + 1]),
                failedAt: fields.count > 2 ? fields[2].stringValue.flatMap(RQJob.parseTime) : nil,
                attempts: replies[index * 3 + 2].integerValue.map { Int($0) })
            if data.isEmpty {
                message.undecodableReason = "the job hash \(RQJob.jobKey(id, keyPrefix: prefix)) has no data (it may have expired)"
                return message
            }
            do throws(WireFormatError) {
                let origin = fields.count > 1 ? fields[1].stringValue : nil
                message.batch = try TaskPayload.batch(from: RQJob.decode(id: id, data: data, origin: origin))
            } catch {
                message.undecodableReason = error.description
            }
            return message
        }
    }

    /// Returns the error text of the newest execution in an XREVRANGE reply, when it failed.
    private static func lastRQError(_ reply: RedisReply) -> String? {
        guard let entry = reply.arrayValue?.first?.arrayValue, entry.count == 2, let fields = entry[1].arrayValue else {
            return nil
        }
        for index in stride(from: 0, to: fields.count - 1, by: 2) where fields[index].stringValue == "exc_string" {
            return fields[index + 1].bytesValue.map(RQJob.errorText(excString:))
        }
        return nil
    }

    /// Requeues an RQ job from its failed registry, when its hash still
    /// has the `data` field a worker runs. Without it, RQ's worker drops the
    /// job and leaves the hash behind, so the job is reported instead.
    private func requeueRQJob(id: String, queue: String) throws(BrokerError) {
        let prefix = settings.rqKeyPrefix
        let registry = RQJob.registryKey("failed", queue: queue, keyPrefix: prefix)
        let jobKey = RQJob.jobKey(id, keyPrefix: prefix)
        let commands = RQJob.requeueCommands(jobID: id, queue: queue, enqueuedAt: nowMicroseconds(), keyPrefix: prefix)
        var missingData = false
        try runWatched(
            watching: [registry, jobKey], reading: [RedisCommand("ZSCORE", registry, id), RedisCommand("HEXISTS", jobKey, "data")]
        ) { replies in
            guard !replies[0].isNull else { return nil }
            guard replies[1].integerValue == 1 else {
                missingData = true
                return nil
            }
            return commands
        } notFound: {
            guard !missingData else {
                return BrokerError(
                    .undecodable,
                    "Cannot requeue RQ job '\(id)': its hash \(jobKey) has no data (it may have expired), so a worker could not run it. "
                        + "It stays in the failed registry of queue '\(queue)'.")
            }
            return BrokerError(
                .notFound, "RQ job '\(id)' is not in the failed registry of queue '\(queue)'; it may have been requeued or deleted.")
        }
    }

    // MARK: - Dramatiq

    private func deadLetters(_ queue: String, limit: Int) throws(RedisError) -> [FailedMessage] {
        let namespace = settings.dramatiqNamespace
        let scored = try reader.execute(
            RedisCommand("ZREVRANGE", DramatiqMessage.deadLetterKey(queue, namespace: namespace), 0, limit - 1, "WITHSCORES")
        ).arrayValue ?? []
        var ids: [String] = []
        var scores: [Double?] = []
        for index in stride(from: 0, to: scored.count - 1, by: 2) {
            guard let id = scored[index].stringValue else { continue }
            ids.append(id)
            scores.append(scored[index + 1].stringValue.flatMap(Double.init))
        }
        guard !ids.isEmpty else { return [] }
        let bodies = try reader.execute(
            RedisCommand("HMGET", [DramatiqMessage.deadLetterMessagesKey(queue, namespace: namespace)] + ids)
        ).arrayValue ?? []
        return ids.enumerated().map { index, redisID in
            let body = index < bodies.count ? bodies[index].bytesValue ?? [] : []
            var message = FailedMessage(
                system: .dramatiq, queue: queue, messageID: redisID, body: body, failedAt: scores[index].map { $0 / 1000 })
            do throws(WireFormatError) {
                let stored = try DramatiqMessage.decode(body)
                message.error = stored.task.options["traceback"]?.stringValue
                message.attempts = Int(stored.task.options["retries"]?.intValue ?? 0) + 1
                message.batch = try TaskPayload.batch(from: stored.task)
            } catch {
                message.undecodableReason = body.isEmpty ? "the dead letter's message body is missing" : error.description
            }
            return message
        }
    }

    private func requeueDeadLetter(_ message: FailedMessage) throws(BrokerError) {
        let namespace = settings.dramatiqNamespace
        let queue = message.queue
        let redisID = (try? DramatiqMessage.decode(message.body).redisMessageID) ?? message.messageID
        let storeKey = DramatiqMessage.deadLetterMessagesKey(queue, namespace: namespace)
        let now = nowMicroseconds() / 1000
        var undecodable: WireFormatError?
        try runWatched(watching: [storeKey], reading: [RedisCommand("HGET", storeKey, redisID)]) { replies in
            guard let body = replies[0].bytesValue else { return nil }
            do throws(WireFormatError) {
                let stored = try DramatiqMessage.decode(body)
                let target = DramatiqMessage.canonicalQueue(stored.queueName)
                return [
                    RedisCommand("ZREM", DramatiqMessage.deadLetterKey(queue, namespace: namespace), redisID),
                    RedisCommand("HDEL", storeKey, redisID),
                    RedisCommand(
                        "HSET", DramatiqMessage.messagesKey(target, namespace: namespace), redisID,
                        DramatiqMessage.requeued(stored, atMillis: now)),
                    RedisCommand("RPUSH", DramatiqMessage.queueKey(target, namespace: namespace), redisID),
                ]
            } catch {
                undecodable = error
                return nil
            }
        } notFound: {
            if let undecodable {
                return BrokerError(.undecodable, "Cannot requeue Dramatiq message '\(redisID)': \(undecodable)")
            }
            return BrokerError(
                .notFound, "Dramatiq message '\(redisID)' is not in the dead letters of queue '\(queue)'; it may have been requeued or expired.")
        }
    }

    // MARK: - django-q

    private func failedDjangoQTasks(limit: Int) -> [FailedMessage] {
        guard let path = settings.djangoQ.databasePath,
            let rows = try? DjangoQTaskTable(path: path).failedTasks(limit: limit)
        else { return [] }
        return rows.map { row in
            var message = FailedMessage(
                system: .djangoQ, queue: row.cluster ?? settings.djangoQ.name, messageID: row.id, body: [],
                error: row.result.map(Self.errorText), failedAt: row.stopped, attempts: row.attempts,
                undecodableReason: row.undecodableReason)
            do throws(WireFormatError) {
                let task = try DjangoQPackage.decode(taskDict: Self.taskDict(row, startedAt: nil))
                var shown = JSONObject()
                shown["func"] = .string(task.taskName)
                shown["args"] = .array(task.args)
                shown["kwargs"] = .object(task.kwargs)
                for member in task.options { shown[member.key] = member.value }
                // django-q2 keeps no message after delivery, so the body is the row's call as JSON.
                message.body = JSONWriter.bytes(.object(shown))
                message.batch = try TaskPayload.batch(from: task)
            } catch {
                message.undecodableReason = message.undecodableReason ?? error.description
            }
            return message
        }
    }

    private func requeueDjangoQTask(id: String) throws(BrokerError) {
        let signer = try settings.djangoQ.requireSigner()
        guard let path = settings.djangoQ.databasePath else {
            throw BrokerError(
                .notFound, "Cannot requeue django-q task '\(id)': no Django database path is configured to read it from.")
        }
        let row: DjangoQTaskTable.FailedTask?
        do {
            row = try DjangoQTaskTable(path: path).failedTask(id: id)
        } catch {
            throw BrokerError(.unavailable, "Cannot requeue django-q task '\(id)': \(error.message).")
        }
        guard let row else {
            throw BrokerError(
                .notFound, "django-q task '\(id)' is not a failure in '\(path)'; it may have succeeded or been deleted.")
        }
        guard row.args != nil else {
            throw BrokerError(
                .undecodable, "Cannot requeue django-q task '\(id)': \(row.undecodableReason ?? "its args are missing").")
        }
        let now = nowMicroseconds()
        let pickle = PickleEncoder.encode(Self.taskDict(row, startedAt: now))
        let package = DjangoQPackage.sign(
            pickle, signer: signer, compress: settings.djangoQ.compress, secondsSinceEpoch: now / 1_000_000)
        let listKey = try settings.djangoQ.listKey(cluster: row.cluster ?? settings.djangoQ.name)
        try send([RedisWrite([RedisCommand("RPUSH", listKey, Array(package.utf8))], atomic: false)])
    }

    /// Rebuilds the task dict `async_task` made for a failed row, in its key
    /// order; `started` is left out when `startedAt` (microseconds) is nil.
    private static func taskDict(_ row: DjangoQTaskTable.FailedTask, startedAt: Int64?) -> PickleValue {
        var entries = [
            PickleEntry(.string("id"), .string(row.id)), PickleEntry(.string("name"), .string(row.name)),
            PickleEntry(.string("func"), .string(row.function)),
            PickleEntry(.string("args"), .tuple(row.args?.items ?? [])),
        ]
        for (key, value) in [("hook", row.hook), ("group", row.group), ("cluster", row.cluster)] {
            if let value { entries.append(PickleEntry(.string(key), .string(value))) }
        }
        entries.append(PickleEntry(.string("kwargs"), row.kwargs ?? .dict([])))
        if let startedAt {
            entries.append(PickleEntry(.string("started"), .datetime(PickleDateTime(utcMicroseconds: startedAt))))
        }
        return .dict(entries)
    }

    /// Returns the text of a pickled result: the string itself, or its JSON form.
    private static func errorText(_ result: PickleValue) -> String {
        if let text = result.stringValue { return text }
        return (try? result.json()).map { JSONWriter.string($0) } ?? "(an unreadable result)"
    }

    // MARK: - Helpers

    /// Runs a watched transaction, retrying when a watched key changed
    /// under it, and maps a cancelled decision to `notFound`.
    private func runWatched(
        watching keys: [String], reading reads: [RedisCommand], decide: ([RedisReply]) -> [RedisCommand]?,
        notFound: () -> BrokerError
    ) throws(BrokerError) {
        for _ in 0..<3 {
            let outcome: RedisConnection.WatchedOutcome
            do {
                outcome = try producer.watchedTransaction(watching: keys, reading: reads, then: decide)
            } catch {
                throw error.brokerError
            }
            switch outcome {
            case .committed: return
            case .cancelled: throw notFound()
            case .conflicted: continue
            }
        }
        throw BrokerError(.rejected, "The message kept changing while being requeued; try again.")
    }
}
