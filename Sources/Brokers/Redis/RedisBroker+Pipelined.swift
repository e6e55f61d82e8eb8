import Engine

/// Pipelined enqueues: many tasks on the producer connection, encoded and
/// sent in groups.
extension RedisBroker {
    /// Enqueues many tasks in one pipeline on the producer connection and
    /// returns their stored bytes in order.
    ///
    /// Tasks are encoded and sent in groups of ``streamGroupSize``, so Redis
    /// stores the first groups while the later ones are still being encoded,
    /// on the calling thread and a helper thread (``GroupEncoder``).
    /// The RQ jobs of a group are written in one MULTI/EXEC transaction (see
    /// ``RQJob/enqueueManyCommands(_:keyPrefix:)``); each Celery, Dramatiq
    /// and django-q task keeps the write ``enqueue(_:)`` sends. The stored
    /// hashes, lists and order are those of one ``enqueue(_:)`` per task.
    ///
    /// - Important: a group's RQ jobs are atomic: Redis stores all of them
    ///   or none, except that a command failing inside EXEC (a key of the
    ///   wrong type) does not undo the others. The call is not atomic: when
    ///   Redis rejects a group, the other groups are still sent and stay
    ///   enqueued, and after a lost connection the groups whose replies were
    ///   not read may or may not be stored.
    /// - Throws: ``BrokerError`` `unavailable` when the connection failed,
    ///   otherwise the first error Redis returned, in task order.
    public func enqueue(contentsOf tasks: [TaskMessage]) throws(BrokerError) -> [[UInt8]] {
        // Nothing to send needs no connection, so it succeeds even while Redis is down.
        guard !tasks.isEmpty else { return [] }
        // The only encoding failure is a django-q task without a secret. It
        // is checked first, so that nothing is sent when it fails.
        if tasks.contains(where: { $0.system == .djangoQ }) {
            _ = try settings.djangoQ.requireSigner()
        }
        let outcomes = sendInGroups(count: tasks.count) { [self] index throws(BrokerError) in try encode(tasks[index]) }
        var stored: [[UInt8]] = []
        stored.reserveCapacity(tasks.count)
        var firstError: BrokerError?
        for outcome in outcomes {
            switch outcome {
            case .sent(let bytes):
                stored.append(bytes)
            case .failed(let error) where error.kind == .unavailable:
                throw error
            case .failed(let error):
                firstError = firstError ?? error
            case .notRun:
                // Another task of its transaction was rejected, which is the error thrown.
                continue
            }
        }
        if let firstError { throw firstError }
        return stored
    }

    /// The outcome of one message of ``deliver(_:)`` or ``enqueue(contentsOf:)``.
    enum DeliveryOutcome: Equatable {
        /// Redis stored the message, whose stored bytes these are.
        case sent([UInt8])
        /// The message could not be encoded, Redis rejected it, or the
        /// connection failed (`unavailable`) before its reply was read.
        case failed(BrokerError)
        /// Redis did not run the transaction this message shared with a
        /// message it rejected, so this one was not stored. Sending it again may succeed.
        case notRun
    }

    /// Sends messages in groups as ``enqueue(contentsOf:)`` does and returns
    /// what became of each, in order, instead of throwing.
    ///
    /// A message with stored bytes is sent as ``deliverStored(_:task:)``
    /// sends it; one without is encoded from its task. A message that cannot
    /// be encoded fails alone, and the others are still sent.
    func deliver(_ messages: [(task: TaskMessage, stored: [UInt8]?)]) -> [DeliveryOutcome] {
        sendInGroups(count: messages.count) { [self] index throws(BrokerError) in
            let message = messages[index]
            guard let stored = message.stored else { return try encode(message.task) }
            return try encodeStored(stored, task: message.task)
        }
    }

    /// Encodes `count` messages in groups of ``streamGroupSize``, sends each
    /// group on the producer connection once it is encoded, and returns what
    /// became of each message. A ``GroupEncoder`` encodes the groups on two
    /// threads at once.
    private func sendInGroups(
        count: Int, encode: @escaping @Sendable (Int) throws(BrokerError) -> EncodedTask
    ) -> [DeliveryOutcome] {
        // Nothing to send needs no connection.
        guard count > 0 else { return [] }
        let rqKeyPrefix = settings.rqKeyPrefix
        let encoder = GroupEncoder(count: count, groupSize: Self.streamGroupSize) { position in
            do throws(BrokerError) {
                return .success(try encode(position))
            } catch {
                return .failure(error)
            }
        }
        var groups: [EncodedGroup] = []
        groups.reserveCapacity(encoder.groupCount)
        // Connecting comes first, so that nothing is encoded while Redis is down.
        let streamed = producer.sendStreamed { () -> [RedisWrite]? in
            guard groups.count < encoder.groupCount else { return nil }
            if groups.isEmpty { encoder.startHelper() }
            let encoded = encoder.group(groups.count)
            groups.append(EncodedGroup(encoded: encoded, writes: EnqueueGroup(encoded, rqKeyPrefix: rqKeyPrefix)))
            return groups[groups.count - 1].writes.writes
        }
        encoder.finish()
        return outcomes(of: groups, streamed: streamed, count: count)
    }

    /// Combines each message's encoding with the outcome of its group's writes.
    private func outcomes(
        of groups: [EncodedGroup], streamed: RedisConnection.StreamedOutcome, count: Int
    ) -> [DeliveryOutcome] {
        var outcomes: [DeliveryOutcome] = []
        outcomes.reserveCapacity(count)
        var sentQueues: Set<QueueReference> = []
        var lastQueue: QueueReference?
        var firstWrite = 0
        for group in groups {
            let end = firstWrite + group.writes.writes.count
            let replied = streamed.outcomes[min(firstWrite, streamed.outcomes.count)..<min(end, streamed.outcomes.count)]
            firstWrite = end
            let taskOutcomes = group.writes.taskOutcomes(replied, connectionFailure: streamed.connectionFailure)
            for (encoding, taskOutcome) in zip(group.encoded, taskOutcomes) {
                switch (encoding, taskOutcome) {
                case (.failure(let error), _):
                    outcomes.append(.failed(error))
                case (.success(let task), .sent?):
                    // Consecutive tasks mostly share a queue, which is then hashed once.
                    if task.queue != lastQueue {
                        sentQueues.insert(task.queue)
                        lastQueue = task.queue
                    }
                    outcomes.append(.sent(task.stored))
                case (.success, .rejected(let error)?), (.success, .unknown(let error)?):
                    outcomes.append(.failed(error.brokerError))
                case (.success, .notRun?):
                    outcomes.append(.notRun)
                case (.success, nil):
                    preconditionFailure("an encoded task has a write in its group")
                }
            }
        }
        // Messages never encoded: the connection failed before their group was asked for.
        let failure = streamed.connectionFailure ?? RedisError(
            .connectionFailed, "The connection to Redis at '\(settings.url)' failed before this message was sent. Check that Redis is running.")
        while outcomes.count < count {
            outcomes.append(.failed(failure.brokerError))
        }
        for queue in sentQueues { watch(queue) }
        return outcomes
    }

    /// Tasks encoded and written to the socket at a time by ``enqueue(contentsOf:)``.
    static let streamGroupSize = 16
}
