import Engine

/// django-q2 task packages: a pickled task dict, signed with Django's
/// `TimestampSigner` and RPUSHed onto `django_q:<cluster>:q`.
///
/// The signed value is the URL-safe base64 (no padding) of the pickle, or
/// `.` plus the base64 of its zlib compression when compression is on and
/// saves at least two bytes. The signer's salt is the `Q_CLUSTER` name and
/// its secret is Django's `SECRET_KEY`, so both must match the cluster's
/// settings or the cluster drops the task with a BadSignature error.
public enum DjangoQPackage {
    /// The optional task keys `async_task` copies into the package, in its order.
    public static let optionalKeys = [
        "hook", "timeout_hook", "failure_hook", "group", "save", "sync", "cached", "ack_failure", "iter_count",
        "iter_cached", "chain", "cluster", "timeout",
    ]

    /// The values a producer makes up per task, injected so that output is reproducible.
    public struct Stamp: Sendable, Equatable {
        /// 32 lowercase hex digits (a UUID without dashes): the database primary key.
        public var id: String
        /// A display name of at most 100 characters.
        public var name: String
        /// Microseconds since the Unix epoch: the `started` datetime and the signature timestamp.
        public var startedAt: Int64

        public init(id: String, name: String, startedAt: Int64) {
            self.id = id
            self.name = name
            self.startedAt = startedAt
        }
    }

    public static func listKey(cluster: String) -> String { "django_q:\(cluster):q" }

    /// Returns the task dict `async_task(func, *args, **kwargs)` builds:
    /// id, name, func, args (a tuple), the optional keys present in the
    /// task options, kwargs, and `started` as an aware UTC datetime.
    public static func taskDict(_ task: TaskMessage, stamp: Stamp) -> PickleValue {
        var entries = [
            PickleEntry(.string("id"), .string(stamp.id)), PickleEntry(.string("name"), .string(stamp.name)),
            PickleEntry(.string("func"), .string(task.taskName)),
            PickleEntry(.string("args"), .tuple(task.args.map(PickleValue.init(json:)))),
        ]
        for key in optionalKeys {
            if let value = task.options[key], !value.isNull {
                entries.append(PickleEntry(.string(key), PickleValue(json: value)))
            }
        }
        entries.append(PickleEntry(.string("kwargs"), PickleValue(json: .object(task.kwargs))))
        entries.append(PickleEntry(.string("started"), .datetime(PickleDateTime(utcMicroseconds: stamp.startedAt))))
        return .dict(entries)
    }

    /// Returns the signed package text for `task`.
    public static func encode(_ task: TaskMessage, stamp: Stamp, signer: DjangoSigner, compress: Bool) -> String {
        sign(pickledTaskDict(task, stamp: stamp), signer: signer, compress: compress, secondsSinceEpoch: stamp.startedAt / 1_000_000)
    }

    /// The pickle of ``taskDict(_:stamp:)``, written straight from the
    /// task's JSON values: the same bytes as `PickleEncoder.encode(taskDict(...))`.
    static func pickledTaskDict(_ task: TaskMessage, stamp: Stamp) -> [UInt8] {
        var output: [UInt8] = [Opcode.proto, 2, Opcode.emptyDict, Opcode.mark]
        output.reserveCapacity(1024)
        for (key, value) in [("id", stamp.id), ("name", stamp.name), ("func", task.taskName)] {
            PickleEncoder.write(.string(key), into: &output)
            PickleEncoder.write(.string(value), into: &output)
        }
        PickleEncoder.write(.string("args"), into: &output)
        PickleEncoder.writeTuple(json: task.args, into: &output)
        for key in optionalKeys {
            if let value = task.options[key], !value.isNull {
                PickleEncoder.write(.string(key), into: &output)
                PickleEncoder.write(json: value, into: &output)
            }
        }
        PickleEncoder.write(.string("kwargs"), into: &output)
        PickleEncoder.write(json: .object(task.kwargs), into: &output)
        PickleEncoder.write(.string("started"), into: &output)
        PickleEncoder.write(.datetime(PickleDateTime(utcMicroseconds: stamp.startedAt)), into: &output)
        output.append(Opcode.setItems)
        output.append(Opcode.stop)
        return output
    }

    /// Signs pickled bytes as Django's `signing.dumps` does with `compress`.
    public static func sign(_ pickle: [UInt8], signer: DjangoSigner, compress: Bool, secondsSinceEpoch: Int64) -> String {
        var value = Base64Text.encodeURLSafe(pickle)
        if compress {
            let compressed = Zlib.compress(pickle)
            if compressed.count < pickle.count - 1 {
                value = "." + Base64Text.encodeURLSafe(compressed)
            }
        }
        return signer.sign(value, secondsSinceEpoch: secondsSinceEpoch)
    }

    /// Verifies and reads a package back into its task dict.
    public static func unpack(_ package: String, signer: DjangoSigner) throws(WireFormatError) -> PickleValue {
        let (value, _) = try signer.unsign(package)
        let isCompressed = value.hasPrefix(".")
        guard let data = Base64Text.decode(isCompressed ? value.dropFirst() : value[...]) else {
            throw WireFormatError(format: "django-q package", "the signed value is not base64")
        }
        return try PickleDecoder.decode(isCompressed ? try Zlib.decompress(data) : data)
    }

    /// Verifies and reads a package back.
    public static func decode(_ package: String, signer: DjangoSigner) throws(WireFormatError) -> DecodedTask {
        try decode(taskDict: unpack(package, signer: signer))
    }

    /// Reads a task dict, as the package contains it or as a `django_q_task` row rebuilds it.
    public static func decode(taskDict: PickleValue) throws(WireFormatError) -> DecodedTask {
        guard let id = taskDict["id"]?.stringValue, let function = taskDict["func"]?.stringValue else {
            throw WireFormatError(format: "django-q package", "the task dict has no id or func")
        }
        let args = try taskDict["args"]?.json().arrayValue ?? []
        let kwargs = try taskDict["kwargs"]?.json().objectValue ?? JSONObject()
        var options = JSONObject()
        for key in optionalKeys {
            if let value = taskDict[key] { options[key] = try value.json() }
        }
        var enqueuedAt: Double?
        if case .datetime(let started)? = taskDict["started"] { enqueuedAt = started.secondsSinceEpoch }
        return DecodedTask(
            system: .djangoQ, id: id, queue: options["cluster"]?.stringValue, taskName: function, args: args,
            kwargs: kwargs, options: options, enqueuedAt: enqueuedAt)
    }
}
