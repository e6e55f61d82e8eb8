import Engine

/// Dramatiq 2.x messages as its `RedisBroker` stores them.
///
/// A message is compact JSON (`json.dumps` with `(",", ":")` separators)
/// stored in the hash `<ns>:<queue>.msgs` under its `redis_message_id`,
/// which is also pushed onto the list `<ns>:<queue>`. Workers read
/// `options.redis_message_id` to acknowledge, so it must equal the hash
/// field. Dead letters live in `<ns>:<queue>.XQ` (a sorted set scored by
/// epoch milliseconds) and `<ns>:<queue>.XQ.msgs`; delayed messages in
/// `<ns>:<queue>.DQ` and `.DQ.msgs`.
public enum DramatiqMessage {
    public static let defaultNamespace = "dramatiq"

    /// The values a producer makes up per message, injected so that output is reproducible.
    public struct Stamp: Sendable, Equatable {
        /// The message id (a UUID string), stable across retries.
        public var messageID: String
        /// The broker-level id (a UUID string): hash field and list entry.
        public var redisMessageID: String
        /// Milliseconds since the Unix epoch.
        public var timestampMillis: Int64

        public init(messageID: String, redisMessageID: String, timestampMillis: Int64) {
            self.messageID = messageID
            self.redisMessageID = redisMessageID
            self.timestampMillis = timestampMillis
        }
    }

    // MARK: - Keys

    public static func queueKey(_ queue: String, namespace: String = defaultNamespace) -> String {
        "\(namespace):\(queue)"
    }
    public static func messagesKey(_ queue: String, namespace: String = defaultNamespace) -> String {
        "\(namespace):\(queue).msgs"
    }
    public static func delayedMessagesKey(_ queue: String, namespace: String = defaultNamespace) -> String {
        "\(namespace):\(queue).DQ.msgs"
    }
    public static func deadLetterKey(_ queue: String, namespace: String = defaultNamespace) -> String {
        "\(namespace):\(queue).XQ"
    }
    public static func deadLetterMessagesKey(_ queue: String, namespace: String = defaultNamespace) -> String {
        "\(namespace):\(queue).XQ.msgs"
    }

    /// Returns the queue a task goes to: its own, or `default`.
    public static func queue(of task: TaskMessage) -> String {
        task.queue.isEmpty ? "default" : task.queue
    }

    // MARK: - Encoding

    /// Returns the message JSON for `task`, as `send_with_options` stores it.
    ///
    /// The options are the task's own, then `queue_name` (restflow passes
    /// its queue setting there) unless the task set it, then
    /// `redis_message_id`, which the broker adds last.
    public static func encode(_ task: TaskMessage, stamp: Stamp) -> [UInt8] {
        var options = task.options
        if options["queue_name"] == nil { options["queue_name"] = .string(queue(of: task)) }
        options["redis_message_id"] = .string(stamp.redisMessageID)
        var message = JSONObject()
        message.appendUnchecked("queue_name", .string(queue(of: task)))
        message.appendUnchecked("actor_name", .string(task.taskName))
        message.appendUnchecked("args", .array(task.args))
        message.appendUnchecked("kwargs", .object(task.kwargs))
        message.appendUnchecked("options", .object(options))
        message.appendUnchecked("message_id", .string(stamp.messageID))
        message.appendUnchecked("message_timestamp", .int(stamp.timestampMillis))
        return PythonJSON.bytes(.object(message), separators: .compact)
    }

    /// Returns the commands of one enqueue, to run as a MULTI/EXEC
    /// transaction: HSET `<q>.msgs`, then RPUSH `<q>`.
    public static func enqueueCommands(
        queue: String, redisMessageID: String, message: [UInt8], namespace: String = defaultNamespace
    ) -> [RedisCommand] {
        [
            RedisCommand("HSET", messagesKey(queue, namespace: namespace), redisMessageID, message),
            RedisCommand("RPUSH", queueKey(queue, namespace: namespace), redisMessageID),
        ]
    }

    // MARK: - Decoding

    /// A stored message read back, with the parts routing and requeueing need.
    public struct Stored: Sendable, Equatable {
        public var task: DecodedTask
        /// `queue_name` as stored, with `.DQ` for delayed messages.
        public var queueName: String
        public var redisMessageID: String
        /// The whole message, for rewriting options on requeue.
        public var object: JSONObject
    }

    public static func decode(_ message: [UInt8]) throws(WireFormatError) -> Stored {
        let parsed: JSONValue
        do {
            parsed = try JSONParser.parse(String(decoding: message, as: UTF8.self))
        } catch {
            throw failure("the message is not JSON: \(error)")
        }
        guard let object = parsed.objectValue, let queueName = object["queue_name"]?.stringValue,
            let actor = object["actor_name"]?.stringValue, let args = object["args"]?.arrayValue
        else {
            throw failure("queue_name, actor_name or args is missing")
        }
        let options = object["options"]?.objectValue ?? JSONObject()
        guard let redisMessageID = options["redis_message_id"]?.stringValue else {
            throw failure("options.redis_message_id is missing")
        }
        let timestamp = object["message_timestamp"]?.intValue.map { Double($0) / 1000 }
        let task = DecodedTask(
            system: .dramatiq, id: object["message_id"]?.stringValue ?? redisMessageID,
            queue: canonicalQueue(queueName), taskName: actor, args: args,
            kwargs: object["kwargs"]?.objectValue ?? JSONObject(), options: options, enqueuedAt: timestamp)
        return Stored(task: task, queueName: queueName, redisMessageID: redisMessageID, object: object)
    }

    /// Returns the queue name without the `.DQ` suffix that delayed messages carry.
    public static func canonicalQueue(_ queueName: String) -> String {
        queueName.hasSuffix(".DQ") ? String(queueName.dropLast(3)) : queueName
    }

    /// Returns a dead letter ready to run again: `queue_name` without
    /// `.DQ`, `retries` reset to 0, the past `eta` removed, and the requeue
    /// recorded in `requeue_timestamp` (epoch ms, the option Dramatiq's
    /// Retries middleware sets when it re-enqueues). Arguments, the other
    /// options and `redis_message_id` are unchanged.
    public static func requeued(_ stored: Stored, atMillis now: Int64) -> [UInt8] {
        var object = stored.object
        var options = object["options"]?.objectValue ?? JSONObject()
        if options["retries"] != nil { options["retries"] = 0 }
        options["eta"] = nil
        options["requeue_timestamp"] = .int(now)
        object["queue_name"] = .string(canonicalQueue(stored.queueName))
        object["options"] = .object(options)
        return PythonJSON.bytes(.object(object), separators: .compact)
    }

    private static func failure(_ message: String) -> WireFormatError {
        WireFormatError(format: "Dramatiq message", message)
    }
}
