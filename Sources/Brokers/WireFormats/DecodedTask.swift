import Engine

/// A stored task message read back: the parts every system has.
public struct DecodedTask: Sendable, Equatable {
    public var system: BrokerSystem
    /// Celery task id, RQ job id, Dramatiq message id or django-q task id.
    public var id: String
    /// The queue (django-q: the cluster) the message names, when it names one.
    public var queue: String?
    /// Celery task name, RQ or django-q function path, or Dramatiq actor name.
    public var taskName: String
    public var args: [JSONValue]
    public var kwargs: JSONObject
    /// Dramatiq message options, django-q optional keys such as `group`; empty for the others.
    public var options: JSONObject
    /// Seconds since the Unix epoch when the producer stored it, when the message records it.
    public var enqueuedAt: Double?

    public init(
        system: BrokerSystem, id: String, queue: String?, taskName: String, args: [JSONValue], kwargs: JSONObject,
        options: JSONObject = JSONObject(), enqueuedAt: Double? = nil
    ) {
        self.system = system
        self.id = id
        self.queue = queue
        self.taskName = taskName
        self.args = args
        self.kwargs = kwargs
        self.options = options
        self.enqueuedAt = enqueuedAt
    }
}

/// The batch that dispatchtop puts in its messages, found again in a decoded task.
///
/// Messages carry restflow's own arguments, which only hold restflow's
/// numeric rule ids, plus a `dispatchtop` object: the batch in the journal's
/// JSON form (``BatchCoding``), with the stable rule ids a replay needs.
/// Depending on what the receiving function accepts, the object sits in
/// the keyword arguments, in a `context` keyword argument, or in the
/// Dramatiq message options.
public enum TaskPayload {
    public static let blockKey = "dispatchtop"

    /// Returns the batch a decoded task carries.
    /// - Throws: ``WireFormatError`` naming why no batch could be read.
    public static func batch(from task: DecodedTask) throws(WireFormatError) -> Batch {
        let candidates = [task.kwargs[blockKey], task.kwargs["context"]?[blockKey], task.options[blockKey]]
        guard let block = candidates.compactMap({ $0?.objectValue }).first else {
            throw WireFormatError(
                format: "\(task.system.rawValue) message",
                "it carries no '\(blockKey)' object, so its rules cannot be matched to stable rule ids")
        }
        switch BatchCoding.decode(block) {
        case .success(let batch): return batch
        case .failure(let error):
            throw WireFormatError(format: "\(task.system.rawValue) message", "its '\(blockKey)' object: \(error.message)")
        }
    }
}
