/// The Redis broker's settings: server, write mode, and each system's key names and options.
public struct RedisBrokerSettings: Sendable {
    public var url: RedisURL
    /// Allows the writes an operator asks for: replaying stored messages
    /// and requeueing failed ones. Dispatching new messages, and resending
    /// the outbox after an outage, do not need it; probes never write.
    public var writeMode: Bool
    public var connection: RedisConnection.Options
    /// kombu's `global_keyprefix` transport option, put in front of every Celery key.
    public var celeryKeyPrefix: String
    public var rqKeyPrefix: String
    public var rqSerializer: RQJob.Serializer
    /// The job timeout written to each RQ job, in seconds.
    public var rqTimeout: Int
    /// `RedisBroker(namespace=...)` on the Dramatiq side.
    public var dramatiqNamespace: String
    public var djangoQ: DjangoQSettings
    /// Queues to probe from the start; queues the broker enqueues to are added as it goes.
    public var watchedQueues: [QueueReference]
    /// The largest Celery `unacked` hash whose entries a probe reads to
    /// count in-flight messages per queue; above it only the total is known.
    public var unackedScanLimit: Int

    public init(
        url: RedisURL, writeMode: Bool = false, connection: RedisConnection.Options = .init(),
        celeryKeyPrefix: String = "", rqKeyPrefix: String = RQJob.defaultKeyPrefix,
        rqSerializer: RQJob.Serializer = .pickle, rqTimeout: Int = RQJob.defaultTimeout,
        dramatiqNamespace: String = DramatiqMessage.defaultNamespace, djangoQ: DjangoQSettings = .init(),
        watchedQueues: [QueueReference] = [], unackedScanLimit: Int = 1000
    ) {
        self.url = url
        self.writeMode = writeMode
        self.connection = connection
        self.celeryKeyPrefix = celeryKeyPrefix
        self.rqKeyPrefix = rqKeyPrefix
        self.rqSerializer = rqSerializer
        self.rqTimeout = rqTimeout
        self.dramatiqNamespace = dramatiqNamespace
        self.djangoQ = djangoQ
        self.watchedQueues = watchedQueues
        self.unackedScanLimit = unackedScanLimit
    }

    /// Checks the settings that the given systems need.
    /// - Throws: ``BrokerError`` `rejected` when django_q is used without a secret key.
    public func validate(for systems: Set<BrokerSystem>) throws(BrokerError) {
        if systems.contains(.djangoQ) {
            _ = try djangoQ.requireSigner()
        }
    }
}

/// django-q2's settings that the package format depends on.
public struct DjangoQSettings: Sendable {
    /// Django's `SECRET_KEY`; packages cannot be signed without it.
    public var secretKey: String?
    /// `Q_CLUSTER["name"]`: the signing salt, and the cluster when a task names none.
    public var name: String
    /// `Q_CLUSTER["compress"]`.
    public var compress: Bool
    /// A SQLite Django database to read `django_q_task` failures from; without
    /// one, failures are reported as living in the Django database.
    public var databasePath: String?
    /// The clusters a `qcluster` runs for: `Q_CLUSTER["cluster_name"]` and
    /// the names in `ALT_CLUSTERS`. When set, a task for any other cluster
    /// fails to dispatch instead of waiting in a list that no cluster reads.
    /// nil skips that check, because Redis does not show which lists a
    /// cluster reads.
    public var clusters: [String]?

    public init(
        secretKey: String? = nil, name: String = "default", compress: Bool = false, databasePath: String? = nil,
        clusters: [String]? = nil
    ) {
        self.secretKey = secretKey
        self.name = name
        self.compress = compress
        self.databasePath = databasePath
        self.clusters = clusters
    }

    /// Returns the signer for these settings.
    /// - Throws: ``BrokerError`` `rejected` when the secret key is missing.
    public func requireSigner() throws(BrokerError) -> DjangoSigner {
        guard let secretKey, !secretKey.isEmpty else {
            throw BrokerError(
                .rejected,
                "The django_q dispatcher needs the Django SECRET_KEY to sign tasks. Set 'secret_key' in the django_q broker settings to the cluster's SECRET_KEY."
            )
        }
        return DjangoSigner(secret: secretKey, salt: name)
    }

    /// Returns the Redis list of `cluster` after checking that the cluster is configured.
    /// - Throws: ``BrokerError`` `notFound` when ``clusters`` is set and does not name `cluster`.
    public func listKey(cluster: String) throws(BrokerError) -> String {
        if let clusters, !clusters.contains(cluster) {
            let known = clusters.map { "'\($0)'" }.joined(separator: ", ")
            throw BrokerError(
                .notFound,
                "The django-q cluster '\(cluster)' is not configured, so no qcluster would run its task. "
                    + "Configured clusters: \(known.isEmpty ? "none" : known). Add it to 'clusters' in the "
                    + "django_q broker settings, or send the task to a configured cluster.")
        }
        return DjangoQPackage.listKey(cluster: cluster)
    }
}

/// One queue of one system, as probes and failure listings name it.
public struct QueueReference: Sendable, Hashable, Comparable {
    public var system: BrokerSystem
    /// The queue, or for django-q the cluster.
    public var queue: String

    public init(_ system: BrokerSystem, _ queue: String) {
        self.system = system
        self.queue = queue
    }

    /// `system:queue`, the name the console shows.
    public var name: String { "\(system.rawValue):\(queue)" }

    public static func < (left: QueueReference, right: QueueReference) -> Bool { left.name < right.name }
}
