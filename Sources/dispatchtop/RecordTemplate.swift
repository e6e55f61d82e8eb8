import Engine

/// The text a dispatch record shares with every record of the same shape:
/// the same dispatcher, model, signal, rule ids, and rule argument names.
///
/// In a record, that text runs from `,"dispatcher":` to the end of
/// `rule_kwargs`. Only the `pk` and the argument values differ between records
/// of one shape. So the template stores the text once, with the places where
/// the values go, and a record costs one copy per piece and no string escaping.
/// The text comes from the same `LineWriter` calls as a record written
/// member by member, so both ways give the same bytes.
final class RecordTemplate {
    private let dispatcher: String
    private let model: String
    private let signal: ChangeSignal
    private let ruleIDs: [String]
    /// The `rule_kwargs` member names, and the argument names of each member.
    private let argumentNames: [(rule: String, arguments: [String])]
    private let text: UnsafeMutableRawBufferPointer
    /// Offsets in `text` where a value goes: the `pk`, then every argument in order.
    private let cuts: [Int]

    /// Builds the template of `batch`, or returns nil when a `rule_kwargs`
    /// member is not an object of arguments (no template covers that).
    init?(_ batch: Batch) {
        var argumentNames: [(rule: String, arguments: [String])] = []
        for member in batch.ruleKwargs.members {
            guard case .object(let arguments) = member.value else { return nil }
            argumentNames.append((member.key, arguments.keys))
        }
        let writer = LineWriter(descriptor: -1, capacity: 256)
        var cuts: [Int] = []
        writer.append(#","dispatcher":"#)
        writer.appendJSONString(batch.dispatcher)
        writer.append(#","model":"#)
        writer.appendJSONString(batch.model)
        writer.append(#","pk":"#)
        cuts.append(writer.count)
        writer.append(#","signal":"#)
        writer.appendJSONString(batch.signal.rawValue)
        writer.append(#","rule_ids":["#)
        for (index, id) in batch.ruleIDs.enumerated() {
            if index > 0 { writer.append(UInt8(ascii: ",")) }
            writer.appendJSONString(id)
        }
        writer.append(#"],"rule_kwargs":{"#)
        for (index, member) in argumentNames.enumerated() {
            if index > 0 { writer.append(UInt8(ascii: ",")) }
            writer.appendJSONString(member.rule)
            writer.append(#":{"#)
            for (position, name) in member.arguments.enumerated() {
                if position > 0 { writer.append(UInt8(ascii: ",")) }
                writer.appendJSONString(name)
                writer.append(UInt8(ascii: ":"))
                cuts.append(writer.count)
            }
            writer.append(UInt8(ascii: "}"))
        }
        writer.append(UInt8(ascii: "}"))

        let bytes = writer.take()
        text = .allocate(byteCount: bytes.count, alignment: 1)
        text.copyBytes(from: bytes)
        self.cuts = cuts
        self.argumentNames = argumentNames
        dispatcher = batch.dispatcher
        model = batch.model
        signal = batch.signal
        ruleIDs = batch.ruleIDs
    }

    deinit {
        text.deallocate()
    }

    /// Appends the record text from `,"dispatcher":` to the end of
    /// `rule_kwargs` for `batch` when the batch has this template's shape,
    /// comparing every name byte for byte. Returns false, having appended
    /// nothing, for a batch of another shape.
    ///
    /// The argument names are checked as the values are appended, so the
    /// arguments are walked once; a mismatch takes back what was appended.
    func appendIfMatching(_ batch: Batch, to output: LineWriter) -> Bool {
        guard batch.signal == signal, Self.same(batch.dispatcher, dispatcher), Self.same(batch.model, model),
            Self.same(batch.ruleIDs, ruleIDs)
        else { return false }
        let members = batch.ruleKwargs.members
        guard members.count == argumentNames.count else { return false }
        let start = output.count
        // Room for the text and the values, when they are integers; any
        // other value makes room again after it.
        let room = text.count + cuts.count * 20
        output.reserve(room)
        appendText(0..<cuts[0], to: output)
        appendValue(batch.pk, to: output, room: room)

        var cut = 0
        for index in members.indices {
            guard case .object(let arguments) = members[index].value,
                Self.same(members[index].key, argumentNames[index].rule),
                arguments.count == argumentNames[index].arguments.count
            else { return takeBack(to: start, in: output) }
            let names = argumentNames[index].arguments
            let values = arguments.members
            for position in values.indices {
                guard Self.same(values[position].key, names[position]) else { return takeBack(to: start, in: output) }
                appendText(cuts[cut]..<cuts[cut + 1], to: output)
                appendValue(values[position].value, to: output, room: room)
                cut += 1
            }
        }
        appendText(cuts[cut]..<text.count, to: output)
        return true
    }

    private func takeBack(to count: Int, in output: LineWriter) -> Bool {
        output.removeLast(output.count - count)
        return false
    }

    /// Appends a piece of the text into room made before.
    @inline(__always)
    private func appendText(_ range: Range<Int>, to output: LineWriter) {
        // The cuts lie inside the text, so the range needs no check.
        output.appendReserved(UnsafeRawBufferPointer(start: text.baseAddress.unsafelyUnwrapped + range.lowerBound, count: range.count))
    }

    /// Appends a value: an integer into room made before, any other value
    /// with its own room, after which `room` bytes are made again.
    @inline(__always)
    private func appendValue(_ value: JSONValue, to output: LineWriter, room: Int) {
        if case .int(let number) = value {
            output.appendDecimalReserved(number)
        } else {
            output.appendJSON(value)
            output.reserve(room)
        }
    }

    // MARK: - Comparing names

    /// Returns whether two strings hold the same UTF-8 bytes.
    ///
    /// Swift's `==` compares strings by canonical equivalence: "é" as one
    /// scalar equals "e" followed by a combining accent. A record must keep
    /// the bytes it was given, so `==` cannot decide here. Equal in-memory
    /// representations mean equal bytes: the same inline bytes of a short
    /// string, or the same storage of a long one. That cheap test settles the
    /// usual case, where a batch carries the very strings of its rule. Other
    /// strings are compared byte by byte.
    @inline(__always)
    static func same(_ left: String, _ right: String) -> Bool {
        if representation(left) == representation(right) { return true }
        guard left.utf8.count == right.utf8.count else { return false }
        var leftCopy = left
        var rightCopy = right
        return leftCopy.withUTF8 { leftBytes in
            rightCopy.withUTF8 { rightBytes in leftBytes.elementsEqual(rightBytes) }
        }
    }

    /// Returns whether two string arrays hold the same strings, byte for byte.
    @inline(__always)
    static func same(_ left: [String], _ right: [String]) -> Bool {
        // Arrays that share their storage have the same elements.
        if representation(left) == representation(right) { return true }
        guard left.count == right.count else { return false }
        for index in left.indices where !same(left[index], right[index]) {
            return false
        }
        return true
    }

    /// Returns the two machine words a `String` value is made of.
    @inline(__always)
    private static func representation(_ text: String) -> Representation {
        withUnsafeBytes(of: text) { raw in
            Representation(first: raw.load(as: UInt64.self), second: raw.load(fromByteOffset: 8, as: UInt64.self))
        }
    }

    /// Returns the machine word an `Array` value is made of: its storage reference.
    @inline(__always)
    private static func representation(_ array: [String]) -> UInt64 {
        withUnsafeBytes(of: array) { $0.load(as: UInt64.self) }
    }

    private struct Representation: Equatable {
        var first: UInt64
        var second: UInt64
    }

    static let representationSizesHold: Bool = {
        MemoryLayout<String>.size == 16 && MemoryLayout<[String]>.size == 8
    }()
}

/// The templates of the record shapes seen so far, by a hash of what is
/// cheap to read: the first numeric rule id, the rule count and the length
/// of the model name.
///
/// A slot keeps the last template hashed to it. A batch whose shape differs
/// from the template in its slot replaces that template with its own.
struct RecordTemplateTable {
    private var slots: [RecordTemplate?] = Array(repeating: nil, count: 256)

    init() {
        precondition(
            RecordTemplate.representationSizesHold,
            "a String must be two machine words and an Array one, as on every 64-bit platform")
    }

    /// Appends the record text from `,"dispatcher":` to the end of
    /// `rule_kwargs` for `batch` from the template of its shape, built now if
    /// needed. Returns false, having appended nothing, when no template
    /// covers the batch.
    mutating func appendBody(of batch: Batch, to output: LineWriter) -> Bool {
        let first = UInt64(truncatingIfNeeded: batch.restflowRuleIDs.first ?? 0)
        let hash = (first &* 31 &+ UInt64(batch.restflowRuleIDs.count)) &* 31 &+ UInt64(batch.model.utf8.count)
        let slot = Int(truncatingIfNeeded: (hash &* 0x9E37_79B9_7F4A_7C15) >> 56)
        if slots[slot]?.appendIfMatching(batch, to: output) == true { return true }
        guard let built = RecordTemplate(batch) else { return false }
        slots[slot] = built
        return built.appendIfMatching(batch, to: output)
    }
}
