import Engine

@testable import Brokers

/// Test fixtures shared by the wire format tests.
enum WireFixtures {
    /// Returns the bytes of a hex string; whitespace is ignored.
    static func bytes(hex: String) -> [UInt8] {
        let digits = Array(hex.filter { !$0.isWhitespace }.utf8)
        precondition(digits.count % 2 == 0, "odd number of hex digits")
        return stride(from: 0, to: digits.count, by: 2).map { index in
            UInt8(String(decoding: digits[index..<index + 2], as: UTF8.self), radix: 16)!
        }
    }

    static func hex(_ bytes: [UInt8]) -> String {
        bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }

    /// Returns the members of a JSON object literal.
    static func object(_ value: JSONValue) -> JSONObject {
        value.objectValue ?? JSONObject()
    }

    /// restflow's arguments for rules 1 and 2 of one event.
    static let ruleKwargs: JSONValue = ["1": ["pk": 42], "2": ["slug": "abc"]]

    static let batch = Batch(
        id: 7, dispatcher: "celery", batchKey: "celery|task|cache-invalidation", model: "shop.product", pk: 42,
        signal: .postSave, ruleIDs: ["product_detail#1", "product_list#2"], restflowRuleIDs: [1, 2],
        ruleKwargs: object(["product_detail#1": ["pk": 42], "product_list#2": ["slug": "abc"]]), createdAt: 1_796_396_400)

    /// What a Celery dispatcher hands over for the captured restflow example.
    static let celeryTask = TaskMessage(
        system: .celery, queue: "cache-invalidation", taskName: "restflow.caching.tasks.task_run_cache_rules",
        args: [],
        kwargs: object([
            "model_label": "shop.product", "pk": 42, "rule_ids": [1, 2], "signal_type": "POST_SAVE",
            "rule_kwargs": ruleKwargs,
        ]), batch: batch)

    static let rqTask = TaskMessage(
        system: .rq, queue: "default", taskName: "restflow.caching.tasks.run_cache_rules", args: [[1, 2], ruleKwargs],
        kwargs: object(["dispatcher_name": "django_rq"]), batch: batch)

    static let dramatiqTask = TaskMessage(
        system: .dramatiq, queue: "default", taskName: "restflow.task_run_cache_rules", args: [[1, 2], ruleKwargs],
        kwargs: JSONObject(), batch: batch)

    static let djangoQTask = TaskMessage(
        system: .djangoQ, queue: "wireq", taskName: "restflow.caching.tasks.run_cache_rules",
        args: [[1], ["1": ["pk": 42]]], kwargs: object(["dispatcher_name": "django_q"]), batch: batch)
}
