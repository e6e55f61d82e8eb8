import Engine
import Foundation

/// The shared workload: 10 rules on one model, 7 of which fire on each event.
///
/// Every event is a partial save of `bench.Item` with `update_fields`
/// ["price"]; three rules watch only "stock", so they skip, and seven run
/// with one argument read from the record.
enum Workload {
    static let model = "bench.Item"
    static let ruleCount = 10
    static let skippedRules = 3

    /// The configuration, with every rule on `dispatcher`.
    static func configuration(dispatcher: String, batch: Bool) throws -> EngineConfiguration {
        var functions: [String] = []
        for index in 0..<ruleCount {
            let watch = index < skippedRules ? "[\"stock\"]" : "[\"price\", \"title\"]"
            functions.append(
                """
                {"name": "bench.views.view_\(index)", "key": {"namespace": "bench", "partition": ["item_id"]},
                 "rules": [{"id": "rule-\(index)", "model": "\(model)", "field_mapping": {"item_id": "id"},
                            "watch_fields": \(watch), "invalidate_when": {"!archived": true},
                            "dispatcher": "\(dispatcher)", "batch": \(batch)}]}
                """)
        }
        return try ConfigurationLoader.parse("{\"functions\": [\(functions.joined(separator: ","))]}")
    }

    /// The event for record `pk`.
    static func event(pk: Int) -> ChangeEvent {
        var fields = JSONObject()
        fields.appendUnchecked("id", .int(Int64(pk)))
        fields.appendUnchecked("price", .double(Double(pk % 500) + 0.99))
        fields.appendUnchecked("archived", .bool(false))
        return ChangeEvent(model: model, pk: .int(Int64(pk)), signal: .postSave, updateFields: ["price"], fields: fields)
    }

    /// The event as an event line.
    static func line(pk: Int) -> String {
        JSONWriter.string(event(pk: pk).json)
    }
}

/// A dispatcher that does no work: it marks each batch finished at once,
/// so what is measured is evaluation and the engine's own bookkeeping.
struct NoWorkDispatcher: RegistrableDispatcher {
    static let registeredName = "nowork"
    let name = registeredName
    let supportsBatching = true
    let batchKey = registeredName
    let runsOn = "nowhere"
    let runsInProcess = true
    let resolvedOptions = JSONObject()
    let raiseException: Bool? = nil

    init(options: DispatcherOptions) throws(DispatcherConfigurationError) {}

    func dispatch(_ batch: Batch, executor: BatchExecutor) throws(BatchError) {
        executor.markSent(batch)
    }
}
