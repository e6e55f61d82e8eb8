import Engine
import Foundation
import Synchronization

/// A message broker that writes the real Redis formats of Celery, RQ,
/// Dramatiq and django-q2, so their Python workers run the tasks.
///
/// Producing uses one connection, probes and failure listings another, so
/// a slow probe never delays a dispatch. When Redis is down, ``enqueue(_:)``
/// throws ``BrokerError`` `unavailable`, so the dispatcher can put the batch
/// in the outbox. A refused connection fails at once; an unreachable host
/// fails after the connect timeout (1 s by default) on the first attempt,
/// and the connection's backoff makes the attempts after it fail at once.
///
/// What ``enqueue(_:)`` returns, and ``enqueueStored(_:task:)`` sends again:
/// the Celery envelope, the RQ job's `data` field, the Dramatiq message
/// JSON, or the django-q signed package. A replay of an RQ job gets a new
/// job id, because the id is not part of `data` and the original job may
/// still sit in the failed registry. The other formats carry their ids.
public final class RedisBroker: MessageBroker {
    public let settings: RedisBrokerSettings
    let producer: RedisConnection
    let reader: RedisConnection
    let logger: Logger
    let clock: @Sendable () -> Double
    let makeID: @Sendable () -> String
    private let knownQueues: Mutex<Set<QueueReference>>
    /// Probe errors already logged, by queue and message, so a probe that
    /// fails the same way every two seconds logs once.
    let loggedProbeErrors = Mutex<Set<String>>([])

    /// - Parameters:
    ///   - clock: seconds since the Unix epoch; injected so tests get fixed timestamps.
    ///   - makeID: returns a new lowercase UUID string; injected so tests get fixed ids.
    public init(
        settings: RedisBrokerSettings, logger: Logger = .disabled,
        clock: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 },
        makeID: @escaping @Sendable () -> String = { UUIDGenerator.shared.string() }
    ) {
        self.settings = settings
        self.logger = logger
        self.clock = clock
        self.makeID = makeID
        producer = RedisConnection(url: settings.url, options: settings.connection, logger: logger.child("redis.producer"))
        reader = RedisConnection(url: settings.url, options: settings.connection, logger: logger.child("redis.probe"))
        knownQueues = Mutex(Set(settings.watchedQueues))
    }

    public var label: String { settings.url.description }

    /// The queues probes and failure listings cover: the watched ones and every queue enqueued to.
    public var queues: [QueueReference] { knownQueues.withLock { $0.sorted() } }

    /// Adds a queue to those probes cover.
    public func watch(_ queue: QueueReference) {
        _ = knownQueues.withLock { $0.insert(queue) }
    }

    /// Returns the queue `task` would land on, as probes and listings name it.
    public func queueReference(for task: TaskMessage) -> QueueReference {
        switch task.system {
        case .celery: return QueueReference(.celery, CeleryMessage.queue(of: task))
        case .rq: return QueueReference(.rq, RQJob.queue(of: task))
        case .dramatiq: return QueueReference(.dramatiq, DramatiqMessage.queue(of: task))
        case .djangoQ: return QueueReference(.djangoQ, djangoQCluster(of: task))
        }
    }

    // MARK: - Enqueue

    public func enqueue(_ task: TaskMessage) throws(BrokerError) -> [UInt8] {
        let encoded = try encode(task)
        try send([encoded.write(rqKeyPrefix: settings.rqKeyPrefix)])
        watch(encoded.queue)
        return encoded.stored
    }

    /// Replays stored bytes unchanged. Needs write mode.
    ///
    /// Celery and Dramatiq messages go where their own bytes name (routing
    /// key and priority, `queue_name`), because their workers acknowledge by
    /// those values; RQ and django-q use the task's queue or cluster.
    public func enqueueStored(_ body: [UInt8], task: TaskMessage) throws(BrokerError) {
        try requireWriteMode("replay a stored message")
        try deliverStored(body, task: task)
    }

    /// Sends stored bytes without the write-mode check: the outbox resends
    /// the engine's own dispatches, which is not an operator's write.
    func deliverStored(_ body: [UInt8], task: TaskMessage) throws(BrokerError) {
        let route = try encodeStored(body, task: task)
        try send([route.write(rqKeyPrefix: settings.rqKeyPrefix)])
        watch(route.queue)
    }

    /// Returns the write that sends stored bytes again.
    func encodeStored(_ body: [UInt8], task: TaskMessage) throws(BrokerError) -> EncodedTask {
        // A batch journalled while running on the embedded broker carries that
        // broker's own envelope, which no Python worker reads; such a batch is
        // encoded anew in this system's format (its rules and arguments are the same).
        if case .success = EmbeddedMessageCoding.decode(body) {
            logger.info(
                "Stored payload is from the embedded broker, sending it in the system's own format",
                [(LogKey.batchID, String(task.batch.id)), (LogKey.dispatcher, task.system.rawValue)])
            return try encode(task)
        }
        return try storedWrite(body, task: task)
    }

    /// Whether the reader connection reaches Redis now.
    public var status: BrokerStatus {
        do {
            try reader.ping()
            return BrokerStatus(label: label, isUp: true)
        } catch {
            return BrokerStatus(label: label, isUp: false, detail: error.message)
        }
    }

    // MARK: - Encoding per system

    struct EncodedTask {
        var stored: [UInt8]
        var delivery: Delivery
        var queue: QueueReference

        init(stored: [UInt8], write: RedisWrite, queue: QueueReference) {
            self.stored = stored
            delivery = .write(write)
            self.queue = queue
        }

        init(stored: [UInt8], rqJob: RQJob.QueuedJob, queue: QueueReference) {
            self.stored = stored
            delivery = .rqJob(rqJob)
            self.queue = queue
        }

        /// The write that carries the task to Redis.
        enum Delivery {
            /// The task's own write, sent as it is.
            case write(RedisWrite)
            /// An RQ job, which a pipelined enqueue writes in one
            /// transaction with the other RQ jobs of its group.
            case rqJob(RQJob.QueuedJob)
        }

        /// Returns the write that enqueues the task on its own.
        func write(rqKeyPrefix: String) -> RedisWrite {
            switch delivery {
            case .write(let write): return write
            case .rqJob(let job): return RedisWrite(RQJob.enqueueCommands(job, keyPrefix: rqKeyPrefix), atomic: true)
            }
        }
    }

    func encode(_ task: TaskMessage) throws(BrokerError) -> EncodedTask {
        let now = nowMicroseconds()
        switch task.system {
        case .celery:
            let stamp = CeleryMessage.Stamp(
                taskID: makeID(), deliveryTag: makeID(), replyTo: makeID(), origin: Self.origin)
            let envelope = CeleryMessage.encode(task, stamp: stamp)
            let queue = CeleryMessage.queue(of: task)
            let key = CeleryMessage.queueKey(queue, priority: CeleryMessage.priority(of: task), keyPrefix: settings.celeryKeyPrefix)
            return EncodedTask(
                stored: envelope, write: RedisWrite([RedisCommand("LPUSH", key, envelope)], atomic: false),
                queue: QueueReference(.celery, queue))
        case .rq:
            let (data, job) = RQJob.encodedJob(
                task, serializer: settings.rqSerializer, enqueuedAt: now, timeout: settings.rqTimeout, jobID: makeID(),
                keyPrefix: settings.rqKeyPrefix)
            return EncodedTask(stored: data, rqJob: job, queue: QueueReference(.rq, RQJob.queue(of: task)))
        case .dramatiq:
            let stamp = DramatiqMessage.Stamp(messageID: makeID(), redisMessageID: makeID(), timestampMillis: now / 1000)
            let message = DramatiqMessage.encode(task, stamp: stamp)
            let queue = DramatiqMessage.queue(of: task)
            let commands = DramatiqMessage.enqueueCommands(
                queue: queue, redisMessageID: stamp.redisMessageID, message: message, namespace: settings.dramatiqNamespace)
            return EncodedTask(stored: message, write: RedisWrite(commands, atomic: true), queue: QueueReference(.dramatiq, queue))
        case .djangoQ:
            let signer = try settings.djangoQ.requireSigner()
            let cluster = djangoQCluster(of: task)
            let listKey = try settings.djangoQ.listKey(cluster: cluster)
            let id = String(decoding: makeID().utf8.filter { $0 != UInt8(ascii: "-") }, as: UTF8.self)
            let stamp = DjangoQPackage.Stamp(id: id, name: "dispatchtop-" + id.prefix(12), startedAt: now)
            let package = Array(
                DjangoQPackage.encode(task, stamp: stamp, signer: signer, compress: settings.djangoQ.compress).utf8)
            return EncodedTask(
                stored: package, write: RedisWrite([RedisCommand("RPUSH", listKey, package)], atomic: false),
                queue: QueueReference(.djangoQ, cluster))
        }
    }

    private func rqJob(_ task: TaskMessage, data: [UInt8], now: Int64) -> RQJob.QueuedJob {
        RQJob.queuedJob(
            task, data: data, enqueuedAt: now, timeout: settings.rqTimeout, jobID: makeID(), keyPrefix: settings.rqKeyPrefix)
    }

    private func storedWrite(_ body: [UInt8], task: TaskMessage) throws(BrokerError) -> EncodedTask {
        do {
            switch task.system {
            case .celery:
                let route = try CeleryMessage.route(body)
                let key = CeleryMessage.queueKey(route.queue, priority: route.priority, keyPrefix: settings.celeryKeyPrefix)
                return EncodedTask(
                    stored: body, write: RedisWrite([RedisCommand("LPUSH", key, body)], atomic: false),
                    queue: QueueReference(.celery, route.queue))
            case .rq:
                return EncodedTask(
                    stored: body, rqJob: rqJob(task, data: body, now: nowMicroseconds()),
                    queue: QueueReference(.rq, RQJob.queue(of: task)))
            case .dramatiq:
                let stored = try DramatiqMessage.decode(body)
                let commands = DramatiqMessage.enqueueCommands(
                    queue: stored.queueName, redisMessageID: stored.redisMessageID, message: body,
                    namespace: settings.dramatiqNamespace)
                return EncodedTask(
                    stored: body, write: RedisWrite(commands, atomic: true),
                    queue: QueueReference(.dramatiq, DramatiqMessage.canonicalQueue(stored.queueName)))
            case .djangoQ:
                let cluster = djangoQCluster(of: task)
                let listKey = try settings.djangoQ.listKey(cluster: cluster)
                return EncodedTask(
                    stored: body, write: RedisWrite([RedisCommand("RPUSH", listKey, body)], atomic: false),
                    queue: QueueReference(.djangoQ, cluster))
            }
        } catch let error as BrokerError {
            throw error
        } catch {
            throw BrokerError(.undecodable, "Cannot replay the stored \(task.system.rawValue) message: \(error)")
        }
    }

    /// Returns the django-q cluster a task goes to: its queue, or the `Q_CLUSTER` name.
    ///
    /// NOTE: django-q2 1.11 sends a task without a cluster to
    /// `Q_CLUSTER["cluster_name"]`, which defaults to `name`. When a
    /// deployment sets a different cluster_name, such a task lands here in
    /// `django_q:<name>:q`, which its qcluster does not read. Configuring
    /// the dispatcher's `cluster` avoids it; a `cluster_name` setting would fix it.
    func djangoQCluster(of task: TaskMessage) -> String {
        task.queue.isEmpty ? settings.djangoQ.name : task.queue
    }

    // MARK: - Helpers

    func send(_ writes: [RedisWrite]) throws(BrokerError) {
        do {
            try producer.perform(writes)
        } catch {
            throw error.brokerError
        }
    }

    func requireWriteMode(_ action: String) throws(BrokerError) {
        guard settings.writeMode else {
            throw BrokerError(.readOnly, "Cannot \(action) on '\(label)' without write mode. Run dispatchtop again with --write to allow it.")
        }
    }

    func nowMicroseconds() -> Int64 {
        Int64((clock() * 1_000_000).rounded(.down))
    }

    /// Celery's producer identity, `gen<pid>@<host>`.
    static let origin = "gen\(ProcessInfo.processInfo.processIdentifier)@\(ProcessInfo.processInfo.hostName)"
}
