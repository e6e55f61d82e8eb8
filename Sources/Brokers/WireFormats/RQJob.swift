import Engine

/// RQ 2.x and 3.0 jobs as `Queue.enqueue` stores them (django-rq uses the same).
///
/// A job is the hash `rq:job:<id>`, whose only required field is `data`:
/// the zlib-compressed serialization of `(func_name, None, args, kwargs)`.
/// Enqueueing writes the hash and pushes the id in one MULTI/EXEC, so a
/// worker never pops an id whose hash is missing (RQ skips those silently).
public enum RQJob {
    /// The serializer of `data`, which producer and worker must share.
    public enum Serializer: String, Sendable {
        /// RQ's default: Python pickle.
        case pickle
        /// `rq.serializers.JSONSerializer`: `[func, null, [args], {kwargs}]`.
        case json
    }

    /// RQ's key prefix; rq 3.0 can change it with `RQ_KEY_PREFIX`.
    public static let defaultKeyPrefix = "rq"
    /// django-rq's default job timeout in seconds.
    public static let defaultTimeout = 180

    // MARK: - Keys

    public static func jobKey(_ id: String, keyPrefix: String = defaultKeyPrefix) -> String { "\(keyPrefix):job:\(id)" }
    public static func queueKey(_ queue: String, keyPrefix: String = defaultKeyPrefix) -> String {
        "\(keyPrefix):queue:\(queue)"
    }
    public static func queuesKey(keyPrefix: String = defaultKeyPrefix) -> String { "\(keyPrefix):queues" }
    /// Returns the key of a queue's registry sorted set: `wip`, `failed`, `finished`, `scheduled`, `deferred` or `canceled`.
    public static func registryKey(_ registry: String, queue: String, keyPrefix: String = defaultKeyPrefix) -> String {
        "\(keyPrefix):\(registry):\(queue)"
    }
    public static func resultsKey(_ id: String, keyPrefix: String = defaultKeyPrefix) -> String {
        "\(keyPrefix):results:\(id)"
    }

    // MARK: - Encoding

    /// Returns the serialized job call, before compression.
    public static func serializedCall(_ task: TaskMessage, serializer: Serializer) -> [UInt8] {
        switch serializer {
        case .pickle:
            // The pickle of (name, None, tuple(args), kwargs), written
            // straight from the JSON values.
            var output: [UInt8] = [Opcode.proto, 2, Opcode.mark]
            output.reserveCapacity(512)
            PickleEncoder.write(.string(task.taskName), into: &output)
            output.append(Opcode.none)
            PickleEncoder.writeTuple(json: task.args, into: &output)
            PickleEncoder.write(json: .object(task.kwargs), into: &output)
            output.append(Opcode.tuple)
            output.append(Opcode.stop)
            return output
        case .json:
            let call: JSONValue = [.string(task.taskName), nil, .array(task.args), .object(task.kwargs)]
            return PythonJSON.bytes(call, separators: .spaced)
        }
    }

    /// Returns the `data` field: the zlib-compressed serialized call.
    public static func data(_ task: TaskMessage, serializer: Serializer) -> [UInt8] {
        Zlib.compress(serializedCall(task, serializer: serializer))
    }

    /// Returns the job hash fields, in the order HGETALL lists a job that django-rq enqueued.
    /// - Parameters:
    ///   - data: the stored `data` bytes (``data(_:serializer:)``, or a replayed copy).
    ///   - enqueuedAt: microseconds since the Unix epoch, used for `created_at` and `enqueued_at`.
    ///   - timeout: the job timeout in seconds.
    public static func fields(
        _ task: TaskMessage, data: [UInt8], enqueuedAt: Int64, timeout: Int = defaultTimeout
    ) -> [(String, [UInt8])] {
        let values = JobValues(task, data: data, enqueuedAt: enqueuedAt, timeout: timeout)
        return fieldLayout.map { ($0.name, values.bytes(of: $0.value)) }
    }

    /// The source of a job hash field's value: a constant, or one of the values that differ between jobs.
    private enum FieldValue {
        case constant([UInt8])
        case origin, time, data, timeout, description
    }

    /// The job hash fields in the order HGETALL lists a job that django-rq enqueued.
    private static let fieldLayout: [(name: String, value: FieldValue)] = [
        ("status", .constant(Array("queued".utf8))), ("origin", .origin), ("enqueued_at", .time), ("data", .data),
        ("ended_at", .constant([])), ("last_heartbeat", .constant([])), ("created_at", .time),
        ("group_id", .constant([])), ("started_at", .constant([])), ("worker_name", .constant([])),
        ("timeout", .timeout), ("failure_callback_name", .constant([])), ("stopped_callback_name", .constant([])),
        ("success_callback_name", .constant([])), ("description", .description),
    ]

    /// The field values that differ between jobs.
    private struct JobValues {
        var origin: [UInt8]
        var time: [UInt8]
        var data: [UInt8]
        var timeout: [UInt8]
        var description: [UInt8]

        init(_ task: TaskMessage, data: [UInt8], enqueuedAt: Int64, timeout: Int) {
            origin = Array(RQJob.queue(of: task).utf8)
            time = UTCTime.iso8601MicroBytes(microsecondsSinceEpoch: enqueuedAt)
            self.data = data
            self.timeout = timeout == defaultTimeout ? defaultTimeoutText : Array(String(timeout).utf8)
            description = PythonRepr.callBytes(task.taskName, args: task.args, kwargs: task.kwargs)
        }

        func bytes(of value: FieldValue) -> [UInt8] {
            switch value {
            case .constant(let bytes): return bytes
            case .origin: return origin
            case .time: return time
            case .data: return data
            case .timeout: return timeout
            case .description: return description
            }
        }
    }

    private static let defaultTimeoutText = Array(String(defaultTimeout).utf8)

    /// The HSET arguments after the key as RESP, built once from
    /// ``fieldLayout``. Each segment is a run of constant names and values,
    /// followed by a value that differs between jobs (nil after the last run).
    private static let hsetSegments: [(constant: [UInt8], value: FieldValue?)] = {
        var segments: [(constant: [UInt8], value: FieldValue?)] = []
        var constant: [UInt8] = []
        for field in fieldLayout {
            RESPEncoding.appendBulkString(Array(field.name.utf8), to: &constant)
            if case .constant(let bytes) = field.value {
                RESPEncoding.appendBulkString(bytes, to: &constant)
            } else {
                segments.append((constant, field.value))
                constant = []
            }
        }
        if !constant.isEmpty { segments.append((constant, nil)) }
        return segments
    }()

    private static let hsetConstantSize = hsetSegments.reduce(0) { $0 + $1.constant.count }

    /// Returns one job's part of an enqueue, with the fields of
    /// ``fields(_:data:enqueuedAt:timeout:)``. The HSET is written
    /// straight as RESP, without a list of fields.
    public static func queuedJob(
        _ task: TaskMessage, data: [UInt8], enqueuedAt: Int64, timeout: Int = defaultTimeout, jobID: String,
        keyPrefix: String = defaultKeyPrefix
    ) -> QueuedJob {
        let values = JobValues(task, data: data, enqueuedAt: enqueuedAt, timeout: timeout)
        let key = Array(jobKey(jobID, keyPrefix: keyPrefix).utf8)
        var hset: [UInt8] = []
        // A RESP header takes at most 24 bytes.
        let variableSize = values.origin.count + 2 * values.time.count + data.count + values.timeout.count
            + values.description.count
        hset.reserveCapacity(hsetConstantSize + key.count + variableSize + 24 * (hsetSegments.count + 3))
        RESPEncoding.appendArrayHeader(2 + 2 * fieldLayout.count, to: &hset)
        RESPEncoding.appendBulkString(CommandName.hset, to: &hset)
        RESPEncoding.appendBulkString(key, to: &hset)
        for segment in hsetSegments {
            hset.append(contentsOf: segment.constant)
            if let value = segment.value {
                RESPEncoding.appendBulkString(values.bytes(of: value), to: &hset)
            }
        }
        return QueuedJob(
            id: Array(jobID.utf8), queueKey: Array(queueKey(queue(of: task), keyPrefix: keyPrefix).utf8),
            hset: RedisCommand(encoded: hset))
    }

    /// One job's part of an enqueue: the HSET that writes its hash, and its
    /// id with the key of the list it is pushed on.
    public struct QueuedJob: Sendable, Equatable {
        public var id: [UInt8]
        /// `rq:queue:<name>`.
        public var queueKey: [UInt8]
        /// `HSET rq:job:<id>` with every field.
        public var hset: RedisCommand
    }

    /// Returns the commands of one enqueue, to run as a MULTI/EXEC transaction:
    /// SADD rq:queues, HSET rq:job:<id>, RPUSH rq:queue:<q>.
    public static func enqueueCommands(
        jobID: String, queue: String, fields: [(String, [UInt8])], keyPrefix: String = defaultKeyPrefix
    ) -> [RedisCommand] {
        enqueueCommands(queuedJob(jobID: jobID, queue: queue, fields: fields, keyPrefix: keyPrefix), keyPrefix: keyPrefix)
    }

    /// Returns the commands of one enqueue of `job`, as ``enqueueCommands(jobID:queue:fields:keyPrefix:)`` lists them.
    public static func enqueueCommands(_ job: QueuedJob, keyPrefix: String = defaultKeyPrefix) -> [RedisCommand] {
        [
            RedisCommand(arguments: [CommandName.sadd, Array(queuesKey(keyPrefix: keyPrefix).utf8), job.queueKey]),
            job.hset,
            RedisCommand(arguments: [CommandName.rpush, job.queueKey, job.id]),
        ]
    }

    /// Returns the commands that enqueue `jobs` in one MULTI/EXEC
    /// transaction, each with the positions in `jobs` of the jobs that need it.
    ///
    /// The commands are every job's HSET in order, then for each queue, in
    /// the order the queues first appear, one RPUSH of its job ids in order,
    /// then one SADD of each queue to `rq:queues`. The stored hashes, lists
    /// and set are those of one enqueue per job, in the same order.
    /// `Queue.enqueue_many` of rq 3.0 also writes all its jobs in one
    /// transaction, with one RPUSH per job.
    public static func enqueueManyCommands(
        _ jobs: [QueuedJob], keyPrefix: String = defaultKeyPrefix
    ) -> [(command: RedisCommand, jobs: [Int])] {
        var commands: [(command: RedisCommand, jobs: [Int])] = []
        commands.reserveCapacity(jobs.count + 2)
        var queueKeys: [[UInt8]] = []
        var jobsOfQueue: [[Int]] = []
        for (position, job) in jobs.enumerated() {
            commands.append((job.hset, [position]))
            if let index = queueKeys.firstIndex(of: job.queueKey) {
                jobsOfQueue[index].append(position)
            } else {
                queueKeys.append(job.queueKey)
                jobsOfQueue.append([position])
            }
        }
        for (queueKey, positions) in zip(queueKeys, jobsOfQueue) {
            var rpush: [[UInt8]] = [CommandName.rpush, queueKey]
            rpush.reserveCapacity(2 + positions.count)
            for position in positions {
                rpush.append(jobs[position].id)
            }
            commands.append((RedisCommand(arguments: rpush), positions))
        }
        let queuesKeyBytes = Array(queuesKey(keyPrefix: keyPrefix).utf8)
        for (queueKey, positions) in zip(queueKeys, jobsOfQueue) {
            commands.append((RedisCommand(arguments: [CommandName.sadd, queuesKeyBytes, queueKey]), positions))
        }
        return commands
    }

    /// Returns one job's part of an enqueue with the given fields: its HSET, id and queue key.
    public static func queuedJob(
        jobID: String, queue: String, fields: [(String, [UInt8])], keyPrefix: String = defaultKeyPrefix
    ) -> QueuedJob {
        var hset: [[UInt8]] = [CommandName.hset, Array(jobKey(jobID, keyPrefix: keyPrefix).utf8)]
        hset.reserveCapacity(2 + fields.count * 2)
        for (name, value) in fields {
            hset.append(Array(name.utf8))
            hset.append(value)
        }
        return QueuedJob(
            id: Array(jobID.utf8), queueKey: Array(queueKey(queue, keyPrefix: keyPrefix).utf8),
            hset: RedisCommand(arguments: hset))
    }

    /// Command names of an enqueue as bytes, built once.
    private enum CommandName {
        static let hset = Array("HSET".utf8)
        static let sadd = Array("SADD".utf8)
        static let rpush = Array("RPUSH".utf8)
    }

    /// Returns the commands that move a failed job back to its queue, as
    /// `FailedJobRegistry.requeue` does, to run as one MULTI/EXEC.
    /// - Parameter enqueuedAt: microseconds since the Unix epoch.
    public static func requeueCommands(
        jobID: String, queue: String, enqueuedAt: Int64, keyPrefix: String = defaultKeyPrefix
    ) -> [RedisCommand] {
        let time = UTCTime.iso8601Micro(microsecondsSinceEpoch: enqueuedAt)
        return [
            RedisCommand("ZREM", registryKey("failed", queue: queue, keyPrefix: keyPrefix), jobID),
            RedisCommand(
                "HSET", jobKey(jobID, keyPrefix: keyPrefix), "status", "queued", "started_at", "", "ended_at", "",
                "enqueued_at", time),
            RedisCommand("SADD", queuesKey(keyPrefix: keyPrefix), queueKey(queue, keyPrefix: keyPrefix)),
            RedisCommand("RPUSH", queueKey(queue, keyPrefix: keyPrefix), jobID),
        ]
    }

    /// Returns the queue a task goes to: its own, or `default`.
    public static func queue(of task: TaskMessage) -> String {
        task.queue.isEmpty ? "default" : task.queue
    }

    // MARK: - Decoding

    /// Reads a job back from its `data` field and its hash's `origin`.
    ///
    /// The serializer is detected: a pickle starts with the PROTO opcode,
    /// JSON with `[`. Uncompressed data is accepted too, as RQ stores the
    /// raw bytes when compression fails.
    public static func decode(id: String, data: [UInt8], origin: String?) throws(WireFormatError) -> DecodedTask {
        let raw = (try? Zlib.decompress(data)) ?? data
        let function: String
        let args: [JSONValue]
        let kwargs: JSONObject
        if raw.first == Opcode.proto {
            let call = try PickleDecoder.decode(raw)
            guard let parts = call.items, parts.count == 4, let name = parts[0].stringValue,
                case .object(let keywordArguments) = try parts[3].json(), case .array(let positional) = try parts[2].json()
            else {
                throw WireFormatError(format: "RQ job", "data is not a pickled (func, instance, args, kwargs) tuple")
            }
            (function, args, kwargs) = (name, positional, keywordArguments)
        } else {
            let parsed: JSONValue
            do {
                parsed = try JSONParser.parse(String(decoding: raw, as: UTF8.self))
            } catch {
                throw WireFormatError(format: "RQ job", "data is neither a pickle nor JSON: \(error)")
            }
            guard let parts = parsed.arrayValue, parts.count == 4, let name = parts[0].stringValue,
                let positional = parts[2].arrayValue, let keywordArguments = parts[3].objectValue
            else {
                throw WireFormatError(format: "RQ job", "data is not a JSON [func, instance, args, kwargs] list")
            }
            (function, args, kwargs) = (name, positional, keywordArguments)
        }
        return DecodedTask(system: .rq, id: id, queue: origin, taskName: function, args: args, kwargs: kwargs)
    }

    /// Parses RQ's `%Y-%m-%dT%H:%M:%S[.%f]Z` times; nil for anything else.
    public static func parseTime(_ text: String) -> Double? {
        TimeText.parse(text)
    }

    /// Reads the error text of a failed execution from an `rq:results` stream entry's `exc_string`:
    /// base64 of zlib-compressed text, or plain text from older writers.
    public static func errorText(excString: [UInt8]) -> String {
        if let decoded = Base64Text.decode(String(decoding: excString, as: UTF8.self)),
            let text = try? Zlib.decompress(decoded)
        {
            return String(decoding: text, as: UTF8.self)
        }
        return String(decoding: excString, as: UTF8.self)
    }
}
