import Engine

/// Celery task messages, protocol 2, as kombu's Redis transport stores them.
///
/// A message is a JSON envelope LPUSHed onto the queue's list. Its `body`
/// is the base64 of the JSON `[args, kwargs, embed]`. Its `headers` carry
/// the task name and id, whose presence selects protocol 2. Its
/// `properties` carry the `delivery_tag` that workers use as the key in the
/// `unacked` hash, the `delivery_info` they use to requeue, and the priority.
/// On Redis each priority bucket (0, 3, 6, 9) is its own list, named
/// `queue`, `queue\x06\x163`, `queue\x06\x166` and `queue\x06\x169`; workers
/// pop them in that order, so a lower number is served first.
public enum CeleryMessage {
    /// The values a producer makes up per message, injected so that output is reproducible.
    public struct Stamp: Sendable, Equatable {
        /// The task id (a UUID string), also the root id and correlation id.
        public var taskID: String
        /// Unique per delivery; the field name in the `unacked` hash.
        public var deliveryTag: String
        /// The reply queue name Celery generates per producer (a UUID string).
        public var replyTo: String
        /// `gen<pid>@<host>`, the producer's identity.
        public var origin: String

        public init(taskID: String, deliveryTag: String, replyTo: String, origin: String) {
            self.taskID = taskID
            self.deliveryTag = deliveryTag
            self.replyTo = replyTo
            self.origin = origin
        }
    }

    /// Celery's default queue, used when the task names none.
    public static let defaultQueue = "celery"
    /// kombu's separator between a queue name and its priority bucket.
    public static let prioritySeparator = "\u{06}\u{16}"
    public static let priorityBuckets = [0, 3, 6, 9]

    /// Returns the bucket a priority falls in: the highest of 0, 3, 6, 9 not above it (priorities clamp to 0...9).
    public static func priorityBucket(_ priority: Int) -> Int {
        let clamped = min(max(priority, 0), 9)
        return priorityBuckets.last { $0 <= clamped } ?? 0
    }

    /// Returns the Redis list a message of `priority` goes to, with kombu's `global_keyprefix` in front.
    public static func queueKey(_ queue: String, priority: Int, keyPrefix: String = "") -> String {
        let bucket = priorityBucket(priority)
        return keyPrefix + (bucket == 0 ? queue : queue + prioritySeparator + String(bucket))
    }

    /// Returns all four lists of a queue, in the order workers pop them.
    public static func queueKeys(_ queue: String, keyPrefix: String = "") -> [String] {
        priorityBuckets.map { queueKey(queue, priority: $0, keyPrefix: keyPrefix) }
    }

    /// Returns the key of the hash of messages delivered to a worker and not yet acknowledged.
    public static func unackedKey(keyPrefix: String = "") -> String { keyPrefix + "unacked" }

    /// Returns the message priority from the task options (`priority`), 0 when absent.
    public static func priority(of task: TaskMessage) -> Int {
        task.options["priority"]?.intValue.map { Int($0) } ?? 0
    }

    /// Returns the queue a task goes to: its own, or Celery's default.
    public static func queue(of task: TaskMessage) -> String {
        task.queue.isEmpty ? defaultQueue : task.queue
    }

    /// Returns the stored envelope bytes for `task`, as `apply_async` would store them.
    public static func encode(_ task: TaskMessage, stamp: Stamp) -> [UInt8] {
        // The text of `PythonJSON.bytes(.object(envelope(task, stamp:)), separators: .spaced)`,
        // written member by member: the fixed parts are literals, so only
        // the task's own values go through the JSON writer.
        let body = PythonJSON.bytes([.array(task.args), .object(task.kwargs), embed], separators: .spaced)
        var output: [UInt8] = []
        output.reserveCapacity(body.count * 4 / 3 + 1024)
        func raw(_ text: StaticString) { JSONWriter.writeRaw(text, into: &output) }
        func string(_ text: String) { PythonJSON.writeString(text, into: &output) }

        raw(#"{"body": "#)
        string(Base64Text.encode(body))
        raw(#", "content-encoding": "utf-8", "content-type": "application/json", "headers": {"lang": "py", "task": "#)
        string(task.taskName)
        raw(#", "id": "#)
        string(stamp.taskID)
        raw(#", "shadow": null, "eta": null, "expires": null, "group": null, "group_index": null, "retries": 0, "timelimit": [null, null], "root_id": "#)
        string(stamp.taskID)
        raw(#", "parent_id": null, "argsrepr": "#)
        string(PythonRepr.tuple(task.args))
        raw(#", "kwargsrepr": "#)
        string(PythonRepr.string(.object(task.kwargs)))
        raw(#", "origin": "#)
        string(stamp.origin)
        raw(#", "ignore_result": false, "replaced_task_nesting": 0, "stamped_headers": null, "stamps": {}}, "properties": {"correlation_id": "#)
        string(stamp.taskID)
        raw(#", "reply_to": "#)
        string(stamp.replyTo)
        raw(#", "delivery_mode": 2, "delivery_info": {"exchange": "", "routing_key": "#)
        string(queue(of: task))
        raw(#"}, "priority": "#)
        JSONWriter.write(.int(Int64(min(max(priority(of: task), 0), 9))), into: &output)
        raw(#", "body_encoding": "base64", "delivery_tag": "#)
        string(stamp.deliveryTag)
        raw("}}")
        return output
    }

    /// Celery's `embed` member of the body: no callbacks, errbacks, chain or chord.
    private static let embed: JSONValue = ["callbacks": nil, "errbacks": nil, "chain": nil, "chord": nil]

    /// Returns the envelope as a JSON object, in the member order Celery 5 writes.
    public static func envelope(_ task: TaskMessage, stamp: Stamp) -> JSONObject {
        let body = PythonJSON.bytes([.array(task.args), .object(task.kwargs), embed], separators: .spaced)
        let queue = queue(of: task)

        var headers = JSONObject()
        headers.appendUnchecked("lang", "py")
        headers.appendUnchecked("task", .string(task.taskName))
        headers.appendUnchecked("id", .string(stamp.taskID))
        for key in ["shadow", "eta", "expires", "group", "group_index"] { headers.appendUnchecked(key, nil) }
        headers.appendUnchecked("retries", 0)
        headers.appendUnchecked("timelimit", [nil, nil])
        headers.appendUnchecked("root_id", .string(stamp.taskID))
        headers.appendUnchecked("parent_id", nil)
        // NOTE: Celery shortens these reprs past 1024 characters with its
        // saferepr; they are written in full here. Workers only log them.
        headers.appendUnchecked("argsrepr", .string(PythonRepr.tuple(task.args)))
        headers.appendUnchecked("kwargsrepr", .string(PythonRepr.string(.object(task.kwargs))))
        headers.appendUnchecked("origin", .string(stamp.origin))
        headers.appendUnchecked("ignore_result", false)
        headers.appendUnchecked("replaced_task_nesting", 0)
        headers.appendUnchecked("stamped_headers", nil)
        headers.appendUnchecked("stamps", .object(JSONObject()))

        var properties = JSONObject()
        properties.appendUnchecked("correlation_id", .string(stamp.taskID))
        properties.appendUnchecked("reply_to", .string(stamp.replyTo))
        properties.appendUnchecked("delivery_mode", 2)
        properties.appendUnchecked("delivery_info", ["exchange": "", "routing_key": .string(queue)])
        properties.appendUnchecked("priority", .int(Int64(min(max(priority(of: task), 0), 9))))
        properties.appendUnchecked("body_encoding", "base64")
        properties.appendUnchecked("delivery_tag", .string(stamp.deliveryTag))

        var envelope = JSONObject()
        envelope.appendUnchecked("body", .string(Base64Text.encode(body)))
        envelope.appendUnchecked("content-encoding", "utf-8")
        envelope.appendUnchecked("content-type", "application/json")
        envelope.appendUnchecked("headers", .object(headers))
        envelope.appendUnchecked("properties", .object(properties))
        return envelope
    }

    /// Where a stored envelope goes: the queue from its `delivery_info` and its priority.
    public static func route(_ envelope: [UInt8]) throws(WireFormatError) -> (queue: String, priority: Int) {
        let object = try parseEnvelope(envelope)
        let properties = object["properties"]?.objectValue
        guard let queue = properties?["delivery_info"]?["routing_key"]?.stringValue else {
            throw failure("properties.delivery_info.routing_key is missing")
        }
        return (queue, properties?["priority"]?.intValue.map { Int($0) } ?? 0)
    }

    /// Reads a stored envelope back.
    public static func decode(_ envelope: [UInt8]) throws(WireFormatError) -> DecodedTask {
        let object = try parseEnvelope(envelope)
        guard let headers = object["headers"]?.objectValue, let name = headers["task"]?.stringValue,
            let id = headers["id"]?.stringValue
        else {
            throw failure("headers.task or headers.id is missing (not a protocol 2 message)")
        }
        guard let encoded = object["body"]?.stringValue else { throw failure("the body is missing") }
        let isBase64 = object["properties"]?["body_encoding"]?.stringValue == "base64"
        guard let bodyBytes = isBase64 ? Base64Text.decode(encoded) : Array(encoded.utf8) else {
            throw failure("the body is not valid base64")
        }
        let body: JSONValue
        do {
            body = try JSONParser.parse(String(decoding: bodyBytes, as: UTF8.self))
        } catch {
            throw failure("the body is not JSON: \(error)")
        }
        guard let parts = body.arrayValue, parts.count >= 2, let args = parts[0].arrayValue,
            let kwargs = parts[1].objectValue
        else {
            throw failure("the body is not [args, kwargs, embed]")
        }
        let queue = object["properties"]?["delivery_info"]?["routing_key"]?.stringValue
        return DecodedTask(system: .celery, id: id, queue: queue, taskName: name, args: args, kwargs: kwargs)
    }

    private static func parseEnvelope(_ envelope: [UInt8]) throws(WireFormatError) -> JSONObject {
        let parsed: JSONValue
        do {
            parsed = try JSONParser.parse(String(decoding: envelope, as: UTF8.self))
        } catch {
            throw failure("the envelope is not JSON: \(error)")
        }
        guard let object = parsed.objectValue else { throw failure("the envelope is not a JSON object") }
        return object
    }

    private static func failure(_ message: String) -> WireFormatError {
        WireFormatError(format: "Celery message", message)
    }
}
