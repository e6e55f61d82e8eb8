/// The JSON form of a ``Batch``, as journal rows and embedded broker
/// messages store it.
public enum BatchCoding {
    public static func encode(_ batch: Batch) -> JSONObject {
        var object = JSONObject()
        object.appendUnchecked("batch", .int(Int64(batch.id)))
        object.appendUnchecked("dispatcher", .string(batch.dispatcher))
        object.appendUnchecked("batch_key", .string(batch.batchKey))
        object.appendUnchecked("model", .string(batch.model))
        object.appendUnchecked("pk", batch.pk)
        object.appendUnchecked("signal", .string(batch.signal.rawValue))
        object.appendUnchecked("event", batch.eventIndex.map { .int(Int64($0)) } ?? .null)
        object.appendUnchecked("rule_ids", .array(batch.ruleIDs.map(JSONValue.string)))
        object.appendUnchecked("restflow_rule_ids", .array(batch.restflowRuleIDs.map { .int(Int64($0)) }))
        object.appendUnchecked("rule_kwargs", .object(batch.ruleKwargs))
        object.appendUnchecked("options", .object(batch.options))
        object.appendUnchecked("raise_exception", .bool(batch.raiseException))
        object.appendUnchecked("created_at", .double(batch.createdAt))
        object.appendUnchecked("replay_of", batch.replayOf.map { .int($0) } ?? .null)
        object.appendUnchecked("attempt", .int(Int64(batch.attempt)))
        return object
    }

    /// Decodes what ``encode(_:)`` wrote; nil names the first bad member.
    public static func decode(_ object: JSONObject) -> Result<Batch, BatchError> {
        func bad(_ member: String) -> Result<Batch, BatchError> {
            .failure(BatchError(kind: .undecodable, message: "batch member '\(member)' is missing or of the wrong type"))
        }
        guard let id = object["batch"]?.intValue, id >= 0 else { return bad("batch") }
        guard let dispatcher = object["dispatcher"]?.stringValue else { return bad("dispatcher") }
        guard let model = object["model"]?.stringValue else { return bad("model") }
        guard let pk = object["pk"] else { return bad("pk") }
        guard let signal = object["signal"]?.stringValue.flatMap(ChangeSignal.init(rawValue:)) else { return bad("signal") }
        guard let ruleIDs = object["rule_ids"]?.arrayValue?.compactMap(\.stringValue) else { return bad("rule_ids") }
        guard let kwargs = object["rule_kwargs"]?.objectValue else { return bad("rule_kwargs") }
        let numbers = object["restflow_rule_ids"]?.arrayValue?.compactMap(\.intValue).map { Int($0) } ?? []
        return .success(
            Batch(
                id: UInt64(id), dispatcher: dispatcher, batchKey: object["batch_key"]?.stringValue ?? dispatcher,
                model: model, pk: pk, signal: signal, eventIndex: object["event"]?.intValue.map { Int($0) },
                ruleIDs: ruleIDs, restflowRuleIDs: numbers, ruleKwargs: kwargs,
                options: object["options"]?.objectValue ?? JSONObject(),
                raiseException: object["raise_exception"]?.boolValue ?? false,
                createdAt: object["created_at"].flatMap(doubleValue) ?? 0,
                replayOf: object["replay_of"]?.intValue, attempt: Int(object["attempt"]?.intValue ?? 1)))
    }

    private static func doubleValue(_ value: JSONValue) -> Double? {
        switch value {
        case .double(let number): return number
        case .int(let number): return Double(number)
        default: return nil
        }
    }
}
