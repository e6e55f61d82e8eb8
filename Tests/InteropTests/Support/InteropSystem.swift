import Brokers
import Engine

/// One task system as the producer check runs it: the dispatcher that
/// writes its messages, the real worker that consumes them, and how to tell
/// that the worker has finished all four.
struct InteropSystem: Sendable {
    /// A short name for temporary folders and messages.
    var name: String
    /// The dispatcher name in dispatchtop's configuration.
    var dispatcher: String
    var brokerSystem: BrokerSystem
    /// The `broker_state.py` system name: celery, rq, dramatiq or django_q.
    var stateName: String
    /// The queue, or for django-q the cluster.
    var queue: String
    var worker: PythonWorker.Kind
    /// Extra `INTEROP_*` settings of the Django project.
    var variables: [String: String] = [:]
    /// `settings.brokers.django_rq.serializer`: pickle or json.
    var rqSerializer = "pickle"

    static let celery = InteropSystem(
        name: "celery", dispatcher: "celery", brokerSystem: .celery, stateName: "celery", queue: "cache-invalidation",
        worker: .celery)
    static let rqPickle = InteropSystem(
        name: "rq-pickle", dispatcher: "django_rq", brokerSystem: .rq, stateName: "rq", queue: "default",
        worker: .rqworker)
    static let rqJSON = InteropSystem(
        name: "rq-json", dispatcher: "django_rq", brokerSystem: .rq, stateName: "rq", queue: "default",
        worker: .rqworker, variables: ["INTEROP_RQ_SERIALIZER": "rq.serializers.JSONSerializer"], rqSerializer: "json")
    static let dramatiq = InteropSystem(
        name: "dramatiq", dispatcher: "dramatiq", brokerSystem: .dramatiq, stateName: "dramatiq", queue: "default",
        worker: .dramatiq)
    static let djangoQ = InteropSystem(
        name: "django-q", dispatcher: "django_q", brokerSystem: .djangoQ, stateName: "django_q", queue: "interop",
        worker: .qcluster)

    var queueReference: QueueReference { QueueReference(brokerSystem, queue) }

    /// Returns whether the worker has finished every dispatched job. That is
    /// when the queue is empty, nothing is in flight, and the system has
    /// recorded three successes and the one failure (rule 5), each where that
    /// system records them.
    func hasFinishedAllJobs(_ site: InteropSite) throws -> Bool {
        switch brokerSystem {
        case .celery:
            let ready = try CeleryMessage.queueKeys(queue).reduce(0) { $0 + (try site.count(RedisCommand("LLEN", $1))) }
            return try ready == 0 && site.count(RedisCommand("HLEN", CeleryMessage.unackedKey())) == 0
                && site.scan("celery-task-meta-*").count == 4
        case .rq:
            return try site.count(RedisCommand("LLEN", RQJob.queueKey(queue))) == 0
                && site.count(RedisCommand("ZCARD", RQJob.registryKey("failed", queue: queue))) == 1
                && site.count(RedisCommand("ZCARD", RQJob.registryKey("finished", queue: queue))) == 3
        case .dramatiq:
            return try site.count(RedisCommand("LLEN", DramatiqMessage.queueKey(queue))) == 0
                && site.count(RedisCommand("HLEN", DramatiqMessage.messagesKey(queue))) == 0
                && site.count(RedisCommand("HLEN", DramatiqMessage.delayedMessagesKey(queue))) == 0
                && site.count(RedisCommand("ZCARD", DramatiqMessage.deadLetterKey(queue))) == 1
        case .djangoQ:
            return try site.count(RedisCommand("LLEN", DjangoQPackage.listKey(cluster: queue))) == 0
                && site.djangoQTaskRows().count == 4
        }
    }

    /// Returns the restflow rule ids a message or failure record of
    /// `broker_state.py` carries: Celery's `rule_ids` keyword argument, or
    /// the first positional argument of the other systems.
    static func restflowRuleIDs(ofDecoded message: JSONValue) -> [Int64] {
        let ids = message["kwargs"]?["rule_ids"] ?? message["args"]?.arrayValue?.first
        return ids?.arrayValue?.compactMap(\.intValue) ?? []
    }
}
