import Engine
import Testing

@testable import Brokers

@Suite struct PickleEncoderTests {
    /// The hand-written protocol 2 pickle of RQ's job tuple for
    /// `run_cache_rules([1, 2], {"1": {"pk": 42}, "2": {"slug": "abc"}}, dispatcher_name="django_rq")`,
    /// checked with Python's `pickle.loads`.
    static let rqJobTuple = """
        80022858260000007265737466 6c6f772e63616368696e672e7461736b732e72756e5f63616368655f72756c65734e
        5d284b014b02657d285801000000317d285802000000706b4b2a75580100000032 7d285804000000736c7567580300
        0000616263757586 7d28580f000000646973706174636865725f6e616d655809000000646a616e676f5f72717574 2e
        """

    @Test func rqJobTupleMatchesGolden() {
        let call = PickleValue.tuple([
            .string("restflow.caching.tasks.run_cache_rules"), .none,
            .tuple([.list([.int(1), .int(2)]), PickleValue(json: WireFixtures.ruleKwargs)]),
            .dict([PickleEntry(.string("dispatcher_name"), .string("django_rq"))]),
        ])
        let encoded = PickleEncoder.encode(call)
        #expect(encoded.count == 141)
        #expect(WireFixtures.hex(encoded) == WireFixtures.hex(WireFixtures.bytes(hex: Self.rqJobTuple)))
    }

    /// Python's `pickle.dumps(value, protocol=2)` for each integer form.
    @Test(arguments: [
        (Int64(255), "80024bff2e"), (256, "80024d00012e"), (300, "80024d2c012e"), (65535, "80024dffff2e"),
        (65536, "80024a000001002e"), (-5, "80024afbffffff2e"), (-2_147_483_648, "80024a000000802e"),
        (2_147_483_648, "80028a0500000080002e"), (1_099_511_627_776, "80028a060000000000012e"),
        (-1_099_511_627_776, "80028a060000000000ff2e"), (Int64.max, "80028a08ffffffffffffff7f2e"),
        (Int64.min, "80028a0800000000000000802e"),
    ])
    func integerMatchesPython(value: Int64, expected: String) {
        #expect(WireFixtures.hex(PickleEncoder.encode(.int(value))) == expected)
    }

    @Test func floatIsBigEndian() {
        #expect(WireFixtures.hex(PickleEncoder.encode(.float(1.5))) == "8002473ff80000000000002e")
        #expect(WireFixtures.hex(PickleEncoder.encode(.float(-0.0))) == "80024780000000000000002e")
    }

    /// `datetime(2026, 12, 4, 15, tzinfo=timezone.utc)`: the class, the 10-byte
    /// state, then `timezone(timedelta(0, 0, 0))` built by REDUCE, then REDUCE
    /// of `(state, tz)`.
    @Test func awareUTCDateTimeMatchesGolden() {
        let moment = PickleDateTime(year: 2026, month: 12, day: 4, hour: 15)
        let expected =
            "8002" + "63" + WireFixtures.hex(Array("datetime\ndatetime\n".utf8)) + "430a07ea0c040f0000000000"
            + "63" + WireFixtures.hex(Array("datetime\ntimezone\n".utf8))
            + "63" + WireFixtures.hex(Array("datetime\ntimedelta\n".utf8)) + "4b004b004b00875285528652" + "2e"
        #expect(WireFixtures.hex(PickleEncoder.encode(.datetime(moment))) == expected)
    }

    @Test func naiveDateTimeHasNoZone() {
        let moment = PickleDateTime(year: 2026, month: 1, day: 2, hour: 3, minute: 4, second: 5, utcOffsetSeconds: nil)
        let expected =
            "8002" + "63" + WireFixtures.hex(Array("datetime\ndatetime\n".utf8)) + "430a07ea0102030405000000" + "8552"
            + "2e"
        #expect(WireFixtures.hex(PickleEncoder.encode(.datetime(moment))) == expected)
    }

    @Test func bytesPickUpLengthForm() {
        #expect(WireFixtures.hex(PickleEncoder.encode(.bytes([0, 0xFF]))) == "80024302" + "00ff" + "2e")
        let long = [UInt8](repeating: 1, count: 300)
        #expect(Array(PickleEncoder.encode(.bytes(long)).prefix(7)) == [0x80, 0x02, 0x42, 0x2C, 0x01, 0x00, 0x00])
    }

    @Test func tuplesOfEveryLength() {
        #expect(WireFixtures.hex(PickleEncoder.encode(.tuple([]))) == "8002292e")
        #expect(WireFixtures.hex(PickleEncoder.encode(.tuple([.none]))) == "80024e852e")
        #expect(WireFixtures.hex(PickleEncoder.encode(.tuple([.none, .none, .none]))) == "80024e4e4e872e")
        #expect(WireFixtures.hex(PickleEncoder.encode(.tuple([.none, .none, .none, .none]))) == "8002284e4e4e4e742e")
    }

    @Test func roundTripsThroughDecoder() throws {
        let value = PickleValue.dict([
            PickleEntry(.string("text"), .string("héllo ✓ 日本")), PickleEntry(.int(3), .list([.bool(true), .bool(false)])),
            PickleEntry(.string("nested"), .tuple([.float(0.1), .bytes([1, 2, 3]), .none, .int(-70000)])),
            PickleEntry(.string("when"), .datetime(PickleDateTime(utcMicroseconds: 1_796_398_170_514_714))),
            PickleEntry(
                .string("offset"),
                .datetime(PickleDateTime(year: 2026, month: 12, day: 4, hour: 10, utcOffsetSeconds: -18_000))),
        ])
        #expect(try PickleDecoder.decode(PickleEncoder.encode(value)) == value)
    }

    @Test(arguments: [
        JSONValue.null, .bool(true), .int(-7), .int(300), .int(1 << 40), .double(2.5), .string("caf\u{E9}"),
        .array([]), .array([1, "a", nil]), .object(JSONObject()),
        .object(JSONObject([("a", 1), ("b", [.object(JSONObject([("c", false)]))])])),
    ])
    func jsonIsWrittenAsItsPickleValue(value: JSONValue) {
        var direct: [UInt8] = [0x80, 2]
        PickleEncoder.write(json: value, into: &direct)
        direct.append(0x2E)
        #expect(direct == PickleEncoder.encode(PickleValue(json: value)))
    }

    @Test(arguments: [0, 1, 2, 3, 4, 7])
    func jsonTupleIsWrittenAsItsPickleTuple(count: Int) {
        let items = (0..<count).map { JSONValue.int(Int64($0)) }
        var direct: [UInt8] = [0x80, 2]
        PickleEncoder.writeTuple(json: items, into: &direct)
        direct.append(0x2E)
        #expect(direct == PickleEncoder.encode(.tuple(items.map(PickleValue.init(json:)))))
    }
}
