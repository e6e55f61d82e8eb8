import Engine
import Testing

@testable import Brokers

@Suite struct CeleryMessageTests {
    static let stamp = CeleryMessage.Stamp(taskID: "ID1", deliveryTag: "T1", replyTo: "R1", origin: "gen7016@vm")

    /// Python's `json.dumps` of the envelope Celery 5.7 stores for the captured
    /// restflow example, with the ids replaced by ID1, R1 and T1.
    static let golden = """
        {"body": "W1tdLCB7Im1vZGVsX2xhYmVsIjogInNob3AucHJvZHVjdCIsICJwayI6IDQyLCAicnVsZV9pZHMiOiBbMSwgMl0sICJzaWduYWxfdHlw\
        ZSI6ICJQT1NUX1NBVkUiLCAicnVsZV9rd2FyZ3MiOiB7IjEiOiB7InBrIjogNDJ9LCAiMiI6IHsic2x1ZyI6ICJhYmMifX19LCB7ImNhbGxiYWNrcy\
        I6IG51bGwsICJlcnJiYWNrcyI6IG51bGwsICJjaGFpbiI6IG51bGwsICJjaG9yZCI6IG51bGx9XQ==", "content-encoding": "utf-8", \
        "content-type": "application/json", "headers": {"lang": "py", "task": "restflow.caching.tasks.task_run_cache_rules", \
        "id": "ID1", "shadow": null, "eta": null, "expires": null, "group": null, "group_index": null, "retries": 0, \
        "timelimit": [null, null], "root_id": "ID1", "parent_id": null, "argsrepr": "()", "kwargsrepr": "{'model_label': \
        'shop.product', 'pk': 42, 'rule_ids': [1, 2], 'signal_type': 'POST_SAVE', 'rule_kwargs': {'1': {'pk': 42}, '2': \
        {'slug': 'abc'}}}", "origin": "gen7016@vm", "ignore_result": false, "replaced_task_nesting": 0, \
        "stamped_headers": null, "stamps": {}}, "properties": {"correlation_id": "ID1", "reply_to": "R1", \
        "delivery_mode": 2, "delivery_info": {"exchange": "", "routing_key": "cache-invalidation"}, "priority": 0, \
        "body_encoding": "base64", "delivery_tag": "T1"}}
        """

    @Test func envelopeMatchesGolden() {
        let encoded = CeleryMessage.encode(WireFixtures.celeryTask, stamp: Self.stamp)
        #expect(String(decoding: encoded, as: UTF8.self) == Self.golden)
    }

    @Test func bodyDecodesToArgsKwargsEmbed() throws {
        let decoded = try CeleryMessage.decode(CeleryMessage.encode(WireFixtures.celeryTask, stamp: Self.stamp))
        #expect(decoded.id == "ID1")
        #expect(decoded.taskName == "restflow.caching.tasks.task_run_cache_rules")
        #expect(decoded.queue == "cache-invalidation")
        #expect(decoded.args == [])
        #expect(decoded.kwargs == WireFixtures.celeryTask.kwargs)
    }

    @Test(arguments: [(0, ""), (2, ""), (3, "\u{06}\u{16}3"), (5, "\u{06}\u{16}3"), (6, "\u{06}\u{16}6"),
        (9, "\u{06}\u{16}9"), (12, "\u{06}\u{16}9"), (-1, "")])
    func priorityPicksBucketList(priority: Int, suffix: String) {
        #expect(CeleryMessage.queueKey("q", priority: priority) == "q" + suffix)
    }

    @Test func keyPrefixGoesFirst() {
        #expect(CeleryMessage.queueKey("q", priority: 6, keyPrefix: "app:") == "app:q\u{06}\u{16}6")
        #expect(CeleryMessage.queueKeys("q", keyPrefix: "p/") == ["p/q", "p/q\u{06}\u{16}3", "p/q\u{06}\u{16}6", "p/q\u{06}\u{16}9"])
        #expect(CeleryMessage.unackedKey(keyPrefix: "p/") == "p/unacked")
    }

    @Test func priorityOptionIsStoredClamped() throws {
        var task = WireFixtures.celeryTask
        task.options["priority"] = 12
        let route = try CeleryMessage.route(CeleryMessage.encode(task, stamp: Self.stamp))
        #expect(route.queue == "cache-invalidation")
        #expect(route.priority == 9)
    }

    @Test func emptyQueueUsesCeleryDefault() throws {
        var task = WireFixtures.celeryTask
        task.queue = ""
        let route = try CeleryMessage.route(CeleryMessage.encode(task, stamp: Self.stamp))
        #expect(route.queue == "celery")
    }

    @Test func rejectsMessageWithoutTaskHeader() {
        #expect(throws: WireFormatError.self) {
            try CeleryMessage.decode(Array(#"{"body": "W10=", "headers": {}}"#.utf8))
        }
    }

    @Test(arguments: [0, 4, 9, 12])
    func encodeWritesTheEnvelopeObject(priority: Int) {
        var task = WireFixtures.celeryTask
        task.options["priority"] = .int(Int64(priority))
        task.queue = "caf\u{E9} \"q\"\n"
        task.kwargs["note"] = .string("line\u{2028}break \\ 'quoted' \u{1F600}")
        let expected = PythonJSON.bytes(.object(CeleryMessage.envelope(task, stamp: Self.stamp)), separators: .spaced)
        #expect(CeleryMessage.encode(task, stamp: Self.stamp) == expected)
    }
}
