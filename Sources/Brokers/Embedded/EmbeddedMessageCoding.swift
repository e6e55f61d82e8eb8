import Engine

/// The embedded broker's own message encoding: the task message and its
/// batch as one compact JSON object.
///
/// Members, in this order: `format` (``format``), `system` (a dispatcher
/// name), `queue`, `task`, `args`, `kwargs`, `options`, and `batch` (the
/// batch in ``BatchCoding``'s form, without its stored payload).
public enum EmbeddedMessageCoding {
    /// The format marker; a body with another marker is rejected as undecodable.
    public static let format = "dispatchtop-embedded/1"

    public static func encode(_ task: TaskMessage) -> [UInt8] {
        var object = JSONObject()
        object.appendUnchecked("format", .string(format))
        object.appendUnchecked("system", .string(task.system.rawValue))
        object.appendUnchecked("queue", .string(task.queue))
        object.appendUnchecked("task", .string(task.taskName))
        object.appendUnchecked("args", .array(task.args))
        object.appendUnchecked("kwargs", .object(task.kwargs))
        object.appendUnchecked("options", .object(task.options))
        object.appendUnchecked("batch", .object(BatchCoding.encode(task.batch)))
        return JSONWriter.bytes(.object(object))
    }

    /// Decodes what ``encode(_:)`` wrote. A failure has kind `undecodable`
    /// and a message naming what is wrong.
    public static func decode(_ body: [UInt8]) -> Result<TaskMessage, BatchError> {
        let root: JSONValue
        do {
            root = try body.withUnsafeBufferPointer { buffer throws(JSONSyntaxError) in try JSONParser.parse(buffer) }
        } catch {
            return .failure(undecodable("the body is not JSON (\(error.description))"))
        }
        guard let object = root.objectValue else {
            return .failure(undecodable("the body is \(root.typeDescription), not a JSON object"))
        }
        guard object["format"]?.stringValue == format else {
            let found = object["format"].map { JSONWriter.string($0) } ?? "missing"
            return .failure(undecodable("the body's format is \(found); expected \"\(format)\""))
        }
        guard let systemName = object["system"]?.stringValue, let system = BrokerSystem(rawValue: systemName) else {
            return .failure(member("system", "one of \(BrokerSystem.allCases.map(\.rawValue).joined(separator: ", "))"))
        }
        guard let queue = object["queue"]?.stringValue else { return .failure(member("queue", "a string")) }
        guard let taskName = object["task"]?.stringValue else { return .failure(member("task", "a string")) }
        guard let args = object["args"]?.arrayValue else { return .failure(member("args", "a list")) }
        guard let kwargs = object["kwargs"]?.objectValue else { return .failure(member("kwargs", "an object")) }
        guard let options = object["options"]?.objectValue else { return .failure(member("options", "an object")) }
        guard let batchObject = object["batch"]?.objectValue else { return .failure(member("batch", "an object")) }
        return BatchCoding.decode(batchObject).map { batch in
            TaskMessage(
                system: system, queue: queue, taskName: taskName, args: args, kwargs: kwargs, options: options, batch: batch)
        }
    }

    private static func member(_ name: String, _ expected: String) -> BatchError {
        undecodable("the body's '\(name)' member is missing or not \(expected)")
    }

    private static func undecodable(_ message: String) -> BatchError {
        BatchError(kind: .undecodable, message: message)
    }
}
