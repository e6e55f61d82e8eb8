import Engine
import Testing

@testable import Brokers

/// Checks that ``RQJob/encodedJob(_:serializer:enqueuedAt:timeout:jobID:keyPrefix:)``,
/// which writes the pickle and the description in one walk, stores the same
/// bytes as the general encoders: ``PickleEncoder`` through
/// ``RQJob/serializedCall(_:serializer:)``, ``PythonRepr`` through
/// ``RQJob/fields(_:data:enqueuedAt:timeout:)``, and an HSET built from
/// those fields by ``RedisCommand/init(arguments:)``.
@Suite struct RQJobEncodingTests {
    static let jobCount = 400

    @Test func variedJobsMatchGeneralEncoders() {
        var random = SeededGenerator(seed: 0x5EED_0001)
        for index in 0..<Self.jobCount {
            let job = VariedJob.make(index, using: &random)
            let (data, queued) = RQJob.encodedJob(
                job.task, serializer: .pickle, enqueuedAt: job.enqueuedAt, timeout: job.timeout, jobID: job.id,
                keyPrefix: job.keyPrefix)

            let pickle = RQJob.serializedCall(job.task, serializer: .pickle)
            #expect(WireFixtures.hex(data) == WireFixtures.hex(Zlib.compress(pickle)), "data of job \(index)")
            let fields = RQJob.fields(job.task, data: data, enqueuedAt: job.enqueuedAt, timeout: job.timeout)
            let expected = [Array("HSET".utf8), Array(RQJob.jobKey(job.id, keyPrefix: job.keyPrefix).utf8)]
                + fields.flatMap { [Array($0.0.utf8), $0.1] }
            let arguments = queued.hset.arguments
            #expect(arguments.count == expected.count, "HSET argument count of job \(index)")
            for (position, (actual, reference)) in zip(arguments, expected).enumerated() where actual != reference {
                Issue.record(
                    "job \(index), HSET argument \(position): \(String(decoding: actual, as: UTF8.self)) != \(String(decoding: reference, as: UTF8.self))")
            }
            #expect(encoded(queued.hset) == encoded(RedisCommand(arguments: expected)), "RESP bytes of job \(index)")
            #expect(queued.id == Array(job.id.utf8), "id of job \(index)")
            #expect(
                queued.queueKey == Array(RQJob.queueKey(RQJob.queue(of: job.task), keyPrefix: job.keyPrefix).utf8),
                "queue key of job \(index)")
        }
    }

    /// The pickle and description of the writer itself, before compression
    /// and RESP, so that a difference points at the value that caused it.
    @Test func writerMatchesPickleAndRepr() {
        var random = SeededGenerator(seed: 0x5EED_0002)
        for index in 0..<Self.jobCount {
            let task = VariedJob.make(index, using: &random).task
            let call = RQCallWriter(task)
            let pickle = Array(call.pickle.bytes)
            let description = Array(call.description.bytes)
            let reference = PythonRepr.callBytes(task.taskName, args: task.args, kwargs: task.kwargs)
            #expect(
                WireFixtures.hex(pickle) == WireFixtures.hex(RQJob.serializedCall(task, serializer: .pickle)),
                "pickle of job \(index)")
            // Bytes, not Strings, are compared: String equality treats canonically equivalent texts as equal.
            let descriptionMatches = description == reference
            #expect(
                descriptionMatches,
                "description of job \(index): \(String(decoding: description, as: UTF8.self)) != \(String(decoding: reference, as: UTF8.self))")
        }
    }

    @Test func plainASCIITestFindsEachByteAtEachPosition() {
        for length in [1, 7, 8, 9, 16, 17, 300] {
            for position in Set([0, length / 2, length - 1]) {
                for byte in [0x00, 0x1F, 0x20, 0x27, 0x5C, 0x7E, 0x7F, 0x80, 0xC3, 0xFF] as [UInt8] {
                    var bytes = [UInt8](repeating: UInt8(ascii: "a"), count: length)
                    bytes[position] = byte
                    let plain = byte >= 0x20 && byte <= 0x7E && byte != 0x27 && byte != 0x5C
                    let result = bytes.withUnsafeBufferPointer { RQCallWriter.isPlainASCII($0) }
                    #expect(result == plain, "byte \(byte) at \(position) of \(length)")
                }
            }
        }
    }

    @Test func encodedJobMatchesDataAndQueuedJobForJSON() {
        let task = WireFixtures.rqTask
        let (data, queued) = RQJob.encodedJob(task, serializer: .json, enqueuedAt: 1_796_398_170_514_714, jobID: "J1")
        #expect(data == RQJob.data(task, serializer: .json))
        #expect(queued == RQJob.queuedJob(task, data: data, enqueuedAt: 1_796_398_170_514_714, jobID: "J1"))
    }

    private func encoded(_ command: RedisCommand) -> [UInt8] {
        var bytes: [UInt8] = []
        command.appendEncoded(to: &bytes)
        return bytes
    }
}

/// Jobs with the values that take different paths in a pickle or a repr.
enum VariedJob {
    struct Job {
        var task: TaskMessage
        var enqueuedAt: Int64
        var timeout: Int
        var id: String
        var keyPrefix: String
    }

    static func make(_ index: Int, using random: inout SeededGenerator) -> Job {
        let argumentCount = index % 6
        let args = (0..<argumentCount).map { _ in value(depth: 0, using: &random) }
        var kwargs = JSONObject()
        for _ in 0..<Int.random(in: 0...4, using: &random) {
            kwargs[pick(keywords, using: &random)] = value(depth: 0, using: &random)
        }
        let task = TaskMessage(
            system: .rq, queue: pick(["", "default", "low", "file sync", "wärme"], using: &random),
            taskName: pick(["restflow.caching.tasks.run_cache_rules", "f", "app.tâche"], using: &random), args: args,
            kwargs: kwargs, batch: WireFixtures.batch)
        return Job(
            task: task, enqueuedAt: pick(times, using: &random) + Int64.random(in: 0...999_999, using: &random),
            timeout: pick([180, 60, -1, 0, 86_400], using: &random), id: "job-\(index)-\(random.next() % 10_000)",
            keyPrefix: pick(["rq", "dispatchtop-bench-rq", "x"], using: &random))
    }

    static func value(depth: Int, using random: inout SeededGenerator) -> JSONValue {
        let kinds = depth >= 3 ? 5 : 7
        switch Int.random(in: 0..<kinds, using: &random) {
        case 0: return .null
        case 1: return .bool(Bool.random(using: &random))
        case 2: return .int(pick(integers, using: &random))
        case 3: return .double(pick(doubles, using: &random))
        case 4: return .string(pick(strings, using: &random))
        case 5:
            let count = pick([0, 1, 2, 5], using: &random)
            return .array((0..<count).map { _ in value(depth: depth + 1, using: &random) })
        default:
            var object = JSONObject()
            for _ in 0..<pick([0, 1, 3], using: &random) {
                object[pick(strings, using: &random)] = value(depth: depth + 1, using: &random)
            }
            return .object(object)
        }
    }

    static func pick<T>(_ choices: [T], using random: inout SeededGenerator) -> T {
        choices[Int.random(in: 0..<choices.count, using: &random)]
    }

    static let keywords = ["dispatcher_name", "context", "x", "日本", "a_b"]

    /// The edges of each pickle int opcode (BININT1, BININT2, BININT, LONG1) and of LONG1's length.
    static let integers: [Int64] = [
        0, 1, 42, 255, 256, 65_535, 65_536, -1, -128, -129, -256, -257, Int64(Int32.max), Int64(Int32.max) + 1,
        Int64(Int32.min), Int64(Int32.min) - 1, 1 << 39, -(1 << 39), (1 << 39) - 1, 1 << 47, -(1 << 47) - 1,
        1 << 55, Int64.max, Int64.min, 1_796_396_400, 123_456_789_012,
    ]

    /// Whole and fractional values, both sides of repr's switch to exponent form at 1e16 and of 2^53.
    static let doubles: [Double] = [
        0, -0.0, 1, -1, 0.5, 0.1, 1.5, -2.25, 1e15, 9.5e15, 9_007_199_254_740_991, 9_007_199_254_740_992,
        9_007_199_254_740_994, 1e16, 1e17, 1e-4, 1e-5, 1.234e-7, 1_796_396_400, 1_796_396_400.25, 123_456.789,
        Double.greatestFiniteMagnitude, Double.leastNonzeroMagnitude, .infinity, -.infinity, .nan,
    ]

    /// Plain text, both quote characters, backslashes, control characters,
    /// non-ASCII and non-printable characters, and texts of 8 and 16 bytes
    /// and over 255 bytes.
    static let strings: [String] = [
        "", "a", "pk", "books", "exactly8", "sixteen_bytes_16", "seventeen_bytes_1", "it's", "say \"hi\"",
        "both ' and \"", "back\\slash", "line\nbreak", "tab\there", "cr\rlf", "\u{01}", "del\u{7F}", "café",
        "日本語", "emoji 😀", "zero\u{200B}width", "nbsp\u{A0}", "soft\u{AD}hyphen", "\u{E000}private",
        "paragraph\u{2029}", "ascii only but long " + String(repeating: "x", count: 300),
        String(repeating: "ü", count: 140), "quote at end of word'", "1234567\\", String(repeating: "é'", count: 5),
    ]

    /// Microseconds since the Unix epoch, including years before 1970 and after 9999, which RQ text writes differently.
    static let times: [Int64] = [
        1_796_398_170_000_000, 0, -1_000_000, 951_782_400_000_000, -62_135_596_800_000_000, 253_402_300_799_000_000,
        253_402_300_800_000_000, -62_167_219_200_000_000, -62_167_219_201_000_000,
    ]
}
