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

    /// Returns one job's part of an enqueue, with the fields of
    /// ``fields(_:data:enqueuedAt:timeout:)``. The HSET is written
    /// straight as RESP, without a list of fields.
    public static func queuedJob(
        _ task: TaskMessage, data: [UInt8], enqueuedAt: Int64, timeout: Int = defaultTimeout, jobID: String,
        keyPrefix: String = defaultKeyPrefix
    ) -> QueuedJob {
        let description = PythonRepr.callBytes(task.taskName, args: task.args, kwargs: task.kwargs)
        return description.withUnsafeBufferPointer { description in
            queuedJob(
                task, data: data, description: description, enqueuedAt: enqueuedAt, timeout: timeout, jobID: jobID,
                keyPrefix: keyPrefix)
        }
    }

    /// Returns the stored `data` field and one job's part of an enqueue,
    /// the same bytes as ``data(_:serializer:)`` and
    /// ``queuedJob(_:data:enqueuedAt:timeout:jobID:keyPrefix:)``.
    ///
    /// With the pickle serializer, the pickle and the description are
    /// written in one walk of the arguments (``RQCallWriter``).
    public static func encodedJob(
        _ task: TaskMessage, serializer: Serializer, enqueuedAt: Int64, timeout: Int = defaultTimeout, jobID: String,
        keyPrefix: String = defaultKeyPrefix
    ) -> (data: [UInt8], job: QueuedJob) {
        guard serializer == .pickle else {
            let data = data(task, serializer: serializer)
            return (
                data,
                queuedJob(task, data: data, enqueuedAt: enqueuedAt, timeout: timeout, jobID: jobID, keyPrefix: keyPrefix)
            )
        }
        let call = RQCallWriter(task)
        let data = Zlib.compress(call.pickle.bytes)
        let job = queuedJob(
            task, data: data, description: call.description.bytes, enqueuedAt: enqueuedAt, timeout: timeout,
            jobID: jobID, keyPrefix: keyPrefix)
        return (data, job)
    }

    /// Builds the job's HSET as RESP in one array of the exact size.
    private static func queuedJob(
        _ task: TaskMessage, data: [UInt8], description: UnsafeBufferPointer<UInt8>, enqueuedAt: Int64, timeout: Int,
        jobID: String, keyPrefix: String
    ) -> QueuedJob {
        var timeText = RQTimeText()
        let timeCount = timeText.write(microsecondsSinceEpoch: enqueuedAt)
        let queue = queue(of: task)
        let timeoutText = timeout == defaultTimeout ? defaultTimeoutText : Array(String(timeout).utf8)
        let keyCount = keyPrefix.utf8.count + jobKeyInfix.count + jobID.utf8.count

        var size = hsetPrefix.count + bulkStringSize(keyCount)
        for segment in hsetSegments {
            size += segment.constant.count
            switch segment.value {
            case .origin?: size += bulkStringSize(queue.utf8.count)
            case .time?: size += bulkStringSize(timeCount)
            case .data?: size += bulkStringSize(data.count)
            case .timeout?: size += bulkStringSize(timeoutText.count)
            case .description?: size += bulkStringSize(description.count)
            case .constant?, nil: break
            }
        }

        // The RESP is written into memory of its own and then copied into an
        // array, because `[UInt8](unsafeUninitializedCapacity:)` allocates
        // through unspecialized standard library code, which costs more than
        // the copy (measured with callgrind on Swift 6.3.1).
        let start = UnsafeMutablePointer<UInt8>.allocate(capacity: size)
        defer { start.deallocate() }
        var output = RESPWriter(start)
        output.append(hsetPrefix)
        output.appendBulkStringHeader(keyCount)
        output.append(keyPrefix)
        output.append(jobKeyInfix)
        output.append(jobID)
        output.appendCRLF()
        for segment in hsetSegments {
            output.append(segment.constant)
            switch segment.value {
            case .origin?:
                output.appendBulkStringHeader(queue.utf8.count)
                output.append(queue)
            case .time?:
                output.appendBulkStringHeader(timeCount)
                timeText.withBytes(count: timeCount) { output.append($0) }
            case .data?:
                output.appendBulkStringHeader(data.count)
                data.withUnsafeBufferPointer { output.append($0) }
            case .timeout?:
                output.appendBulkStringHeader(timeoutText.count)
                timeoutText.withUnsafeBufferPointer { output.append($0) }
            case .description?:
                output.appendBulkStringHeader(description.count)
                output.append(description)
            case .constant?, nil:
                continue
            }
            output.appendCRLF()
        }
        let count = output.count(from: start)
        precondition(count == size, "the HSET of an RQ job was sized as \(size) bytes but has \(count)")
        let hset = Array(UnsafeBufferPointer(start: start, count: count))
        return QueuedJob(
            id: Array(jobID.utf8), queueKey: queueKeyBytes(queue, keyPrefix: keyPrefix), hset: RedisCommand(encoded: hset))
    }

    /// `*32`, then HSET, as RESP: the start of every job's HSET (the name, the key and 15 fields with their values).
    private static let hsetPrefix: [UInt8] = {
        var prefix: [UInt8] = []
        RESPEncoding.appendArrayHeader(2 + 2 * fieldLayout.count, to: &prefix)
        RESPEncoding.appendBulkString(CommandName.hset, to: &prefix)
        return prefix
    }()

    private static let jobKeyInfix = Array(":job:".utf8)
    private static let queueKeyInfix = Array(":queue:".utf8)

    /// Returns the size of a bulk string of `length` bytes: `$`, the length in decimal, CRLF, the bytes, CRLF.
    private static func bulkStringSize(_ length: Int) -> Int {
        var digits = 1
        var rest = length
        while rest >= 10 {
            digits += 1
            rest /= 10
        }
        return 1 + digits + 2 + length + 2
    }

    /// Returns ``queueKey(_:keyPrefix:)`` as bytes.
    private static func queueKeyBytes(_ queue: String, keyPrefix: String) -> [UInt8] {
        let size = keyPrefix.utf8.count + queueKeyInfix.count + queue.utf8.count
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: size) { buffer in
            var output = RESPWriter(buffer.baseAddress!)
            output.append(keyPrefix)
            output.append(queueKeyInfix)
            output.append(queue)
            return Array(UnsafeBufferPointer(start: buffer.baseAddress!, count: output.count(from: buffer.baseAddress!)))
        }
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

/// `2026-12-04T15:29:30.514714Z`, the time text RQ stores, written in
/// place: 27 bytes for the years 0 to 9999, which need no allocation.
/// Other years use ``UTCTime/iso8601MicroBytes(microsecondsSinceEpoch:)``.
private struct RQTimeText {
    private var inline: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
    private var other: [UInt8] = []

    /// Writes the text of a time in microseconds since the Unix epoch and returns its length in bytes.
    mutating func write(microsecondsSinceEpoch micros: Int64) -> Int {
        let parts = UTCTime.components(microsecondsSinceEpoch: micros)
        guard (0...9999).contains(parts.year) else {
            other = UTCTime.iso8601MicroBytes(microsecondsSinceEpoch: micros)
            return other.count
        }
        withUnsafeMutableBytes(of: &inline) { text in
            func put(_ number: Int, at offset: Int, width: Int) {
                var rest = number
                for position in stride(from: offset + width - 1, through: offset, by: -1) {
                    text[position] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: rest % 10)
                    rest /= 10
                }
            }
            put(parts.year, at: 0, width: 4)
            text[4] = UInt8(ascii: "-")
            put(parts.month, at: 5, width: 2)
            text[7] = UInt8(ascii: "-")
            put(parts.day, at: 8, width: 2)
            text[10] = UInt8(ascii: "T")
            put(parts.hour, at: 11, width: 2)
            text[13] = UInt8(ascii: ":")
            put(parts.minute, at: 14, width: 2)
            text[16] = UInt8(ascii: ":")
            put(parts.second, at: 17, width: 2)
            text[19] = UInt8(ascii: ".")
            put(parts.microsecond, at: 20, width: 6)
            text[26] = UInt8(ascii: "Z")
        }
        return 27
    }

    /// Calls `body` with the `count` bytes that ``write(microsecondsSinceEpoch:)`` wrote.
    func withBytes(count: Int, _ body: (UnsafeBufferPointer<UInt8>) -> Void) {
        guard other.isEmpty else { return other.withUnsafeBufferPointer(body) }
        withUnsafeBytes(of: inline) { bytes in
            body(UnsafeBufferPointer(start: bytes.baseAddress!.assumingMemoryBound(to: UInt8.self), count: count))
        }
    }
}
