/// Reads Python pickles of the values in ``PickleValue``.
///
/// It understands the opcodes that CPython's pickler emits for None, bool,
/// int, float, str, bytes, tuple, list, dict and datetime under protocols 2
/// to 5: framing, the memo (MEMOIZE, BINPUT, BINGET and their long forms),
/// SHORT_BINUNICODE, STACK_GLOBAL, and REDUCE of the few callables those
/// types need (`datetime.datetime`, `datetime.timezone`,
/// `datetime.timedelta`, and `_codecs.encode` for bytes under protocol 2).
/// It never imports or calls anything else: any other global is an error,
/// so a hostile pickle cannot run code here.
public struct PickleDecoder {
    private enum Item {
        case value(PickleValue)
        case global(module: String, name: String)
        case mark
    }

    private let input: [UInt8]
    private var position = 0
    private var stack: [Item] = []
    private var memo: [Int: Item] = [:]

    private init(_ input: [UInt8]) {
        self.input = input
    }

    /// Decodes one pickle from `input`, which must end at its STOP opcode.
    public static func decode(_ input: [UInt8]) throws(WireFormatError) -> PickleValue {
        var decoder = PickleDecoder(input)
        return try decoder.run()
    }

    private mutating func run() throws(WireFormatError) -> PickleValue {
        while position < input.count {
            let opcodeOffset = position
            let opcode = input[position]
            position += 1
            if opcode == Opcode.stop {
                guard stack.count == 1, case .value(let result) = stack[0] else {
                    throw failure("STOP with \(stack.count) items on the stack", at: opcodeOffset)
                }
                return result
            }
            try execute(opcode, at: opcodeOffset)
        }
        throw failure("the input ends before STOP", at: input.count)
    }

    // MARK: - Opcodes

    private mutating func execute(_ opcode: UInt8, at offset: Int) throws(WireFormatError) {
        switch opcode {
        case Opcode.proto:
            let version = try readBytes(1)[0]
            guard version <= 5 else { throw failure("protocol \(version) is newer than 5", at: offset) }
        case Opcode.frame: _ = try readInteger(8)
        case Opcode.mark: stack.append(.mark)
        case Opcode.pop: _ = try pop(at: offset)
        case Opcode.popMark: _ = try popToMark(at: offset)
        case Opcode.dup: stack.append(try top(at: offset))
        case Opcode.none: push(.none)
        case Opcode.newTrue: push(.bool(true))
        case Opcode.newFalse: push(.bool(false))
        case Opcode.binInt1: push(.int(Int64(try readBytes(1)[0])))
        case Opcode.binInt2: push(.int(Int64(try readInteger(2))))
        case Opcode.binInt: push(.int(Int64(Int32(truncatingIfNeeded: try readInteger(4)))))
        case Opcode.long1: push(.int(try readLong(count: Int(try readBytes(1)[0]), at: offset)))
        case Opcode.long4: push(.int(try readLong(count: Int(try readInteger(4)), at: offset)))
        case Opcode.binFloat:
            let bits = try readBytes(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            push(.float(Double(bitPattern: bits)))
        default:
            try executeText(opcode, at: offset)
        }
    }

    private mutating func executeText(_ opcode: UInt8, at offset: Int) throws(WireFormatError) {
        switch opcode {
        case Opcode.shortBinUnicode: push(.string(try readString(count: Int(try readBytes(1)[0]), at: offset)))
        case Opcode.binUnicode: push(.string(try readString(count: Int(try readInteger(4)), at: offset)))
        case Opcode.binUnicode8: push(.string(try readString(count: try readCount(8, at: offset), at: offset)))
        case Opcode.shortBinBytes: push(.bytes(try readBytes(Int(try readBytes(1)[0]))))
        case Opcode.binBytes: push(.bytes(try readBytes(Int(try readInteger(4)))))
        case Opcode.binBytes8, Opcode.byteArray8: push(.bytes(try readBytes(try readCount(8, at: offset))))
        case Opcode.shortBinString: push(.bytes(try readBytes(Int(try readBytes(1)[0]))))
        case Opcode.binString: push(.bytes(try readBytes(Int(try readInteger(4)))))
        default:
            try executeContainer(opcode, at: offset)
        }
    }

    private mutating func executeContainer(_ opcode: UInt8, at offset: Int) throws(WireFormatError) {
        switch opcode {
        case Opcode.emptyTuple: push(.tuple([]))
        case Opcode.tuple1, Opcode.tuple2, Opcode.tuple3:
            let count = Int(opcode - Opcode.tuple1) + 1
            var items: [PickleValue] = []
            for _ in 0..<count { items.insert(try popValue(at: offset), at: 0) }
            push(.tuple(items))
        case Opcode.tuple: push(.tuple(try popToMark(at: offset)))
        case Opcode.emptyList: push(.list([]))
        case Opcode.append:
            let item = try popValue(at: offset)
            try extendList(with: [item], at: offset)
        case Opcode.appends:
            let items = try popToMark(at: offset)
            try extendList(with: items, at: offset)
        case Opcode.emptyDict: push(.dict([]))
        case Opcode.setItem:
            let value = try popValue(at: offset)
            let key = try popValue(at: offset)
            try extendDict(with: [key, value], at: offset)
        case Opcode.setItems: try extendDict(with: try popToMark(at: offset), at: offset)
        default:
            try executeMemoAndGlobals(opcode, at: offset)
        }
    }

    private mutating func executeMemoAndGlobals(_ opcode: UInt8, at offset: Int) throws(WireFormatError) {
        switch opcode {
        case Opcode.memoize: memo[memo.count] = try top(at: offset)
        case Opcode.binPut: memo[Int(try readBytes(1)[0])] = try top(at: offset)
        case Opcode.longBinPut: memo[Int(try readInteger(4))] = try top(at: offset)
        case Opcode.binGet: try pushMemo(Int(try readBytes(1)[0]), at: offset)
        case Opcode.longBinGet: try pushMemo(Int(try readInteger(4)), at: offset)
        case Opcode.global:
            let module = try readLine(at: offset)
            let name = try readLine(at: offset)
            stack.append(.global(module: module, name: name))
        case Opcode.stackGlobal:
            let name = try popValue(at: offset)
            let module = try popValue(at: offset)
            guard case .string(let moduleName) = module, case .string(let globalName) = name else {
                throw failure("STACK_GLOBAL needs two str operands", at: offset)
            }
            stack.append(.global(module: moduleName, name: globalName))
        case Opcode.reduce:
            let arguments = try popValue(at: offset)
            guard case .global(let module, let name) = try pop(at: offset), case .tuple(let items) = arguments else {
                throw failure("REDUCE needs a global and an argument tuple", at: offset)
            }
            push(try PickleReduction.call(module: module, name: name, arguments: items, at: offset))
        default:
            throw failure("unsupported opcode 0x\(String(opcode, radix: 16))", at: offset)
        }
    }

    // MARK: - Stack

    private mutating func push(_ value: PickleValue) {
        stack.append(.value(value))
    }

    private func top(at offset: Int) throws(WireFormatError) -> Item {
        guard let item = stack.last else { throw failure("the stack is empty", at: offset) }
        return item
    }

    private mutating func pop(at offset: Int) throws(WireFormatError) -> Item {
        guard let item = stack.popLast() else { throw failure("the stack is empty", at: offset) }
        return item
    }

    private mutating func popValue(at offset: Int) throws(WireFormatError) -> PickleValue {
        guard case .value(let value) = try pop(at: offset) else {
            throw failure("a value was expected on the stack", at: offset)
        }
        return value
    }

    private mutating func popToMark(at offset: Int) throws(WireFormatError) -> [PickleValue] {
        var items: [PickleValue] = []
        while true {
            switch try pop(at: offset) {
            case .mark: return items.reversed()
            case .value(let value): items.append(value)
            case .global: throw failure("a global cannot be a container item", at: offset)
            }
        }
    }

    private mutating func pushMemo(_ index: Int, at offset: Int) throws(WireFormatError) {
        guard let item = memo[index] else { throw failure("memo entry \(index) is not set", at: offset) }
        stack.append(item)
    }

    // Containers are values, so appending to one replaces the top of the
    // stack. A memoized container is not updated by later appends, which
    // only matters for recursive structures that these types never form.
    private mutating func extendList(with items: [PickleValue], at offset: Int) throws(WireFormatError) {
        guard case .list(let existing) = try popValue(at: offset) else {
            throw failure("APPEND needs a list", at: offset)
        }
        push(.list(existing + items))
    }

    private mutating func extendDict(with flat: [PickleValue], at offset: Int) throws(WireFormatError) {
        guard flat.count % 2 == 0, case .dict(var entries) = try popValue(at: offset) else {
            throw failure("SETITEMS needs a dict and key-value pairs", at: offset)
        }
        for index in stride(from: 0, to: flat.count, by: 2) {
            let key = flat[index]
            if let existing = entries.firstIndex(where: { $0.key == key }) {
                entries[existing].value = flat[index + 1]
            } else {
                entries.append(PickleEntry(key, flat[index + 1]))
            }
        }
        push(.dict(entries))
    }

    // MARK: - Reading

    private mutating func readBytes(_ count: Int) throws(WireFormatError) -> [UInt8] {
        guard count >= 0, input.count - position >= count else {
            throw failure("the input ends inside an operand", at: position)
        }
        defer { position += count }
        return Array(input[position..<position + count])
    }

    private mutating func readInteger(_ width: Int) throws(WireFormatError) -> UInt64 {
        let bytes = try readBytes(width)
        return bytes.reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
    }

    private mutating func readCount(_ width: Int, at offset: Int) throws(WireFormatError) -> Int {
        let count = try readInteger(width)
        guard count <= UInt64(input.count) else { throw failure("a length of \(count) exceeds the input", at: offset) }
        return Int(count)
    }

    private mutating func readString(count: Int, at offset: Int) throws(WireFormatError) -> String {
        let bytes = try readBytes(count)
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw failure("a str is not valid UTF-8", at: offset)
        }
        return text
    }

    private mutating func readLong(count: Int, at offset: Int) throws(WireFormatError) -> Int64 {
        let bytes = try readBytes(count)
        guard count <= 8 else { throw failure("an int of \(count) bytes does not fit in 64 bits", at: offset) }
        guard let last = bytes.last else { return 0 }
        var value: UInt64 = last & 0x80 != 0 ? UInt64.max : 0
        for byte in bytes.reversed() { value = value << 8 | UInt64(byte) }
        return Int64(bitPattern: value)
    }

    private mutating func readLine(at offset: Int) throws(WireFormatError) -> String {
        guard let end = input[position...].firstIndex(of: 0x0A) else {
            throw failure("GLOBAL has no line end", at: offset)
        }
        defer { position = end + 1 }
        return String(decoding: input[position..<end], as: UTF8.self)
    }

    private func failure(_ message: String, at offset: Int) -> WireFormatError {
        WireFormatError(format: "pickle", message, offset: offset)
    }
}

/// The callables a pickle of the supported types may REDUCE, evaluated
/// without importing anything.
enum PickleReduction {
    static func call(
        module: String, name: String, arguments: [PickleValue], at offset: Int
    ) throws(WireFormatError) -> PickleValue {
        switch (module, name) {
        case ("datetime", "datetime"): return try dateTime(arguments, at: offset)
        case ("datetime", "timedelta"):
            var parts: [Int64] = []
            for argument in arguments {
                guard case .int(let number) = argument else { throw failure("timedelta needs ints", at: offset) }
                parts.append(number)
            }
            parts += Array(repeating: 0, count: max(0, 3 - parts.count))
            return PickleValue.timedelta(days: parts[0], seconds: parts[1], microseconds: parts[2]).normalizedTimedelta
        case ("datetime", "timezone"):
            guard case .timedelta(let days, let seconds, _)? = arguments.first else {
                throw failure("timezone needs a timedelta", at: offset)
            }
            return .timezone(offsetSeconds: Int(days * 86_400 + seconds))
        case ("_codecs", "encode"):
            // Protocol 2 pickles bytes as _codecs.encode(text, "latin1"),
            // where each character of the text is one byte.
            guard case .string(let text)? = arguments.first else { throw failure("encode needs a str", at: offset) }
            var bytes: [UInt8] = []
            for scalar in text.unicodeScalars {
                guard scalar.value <= 0xFF else { throw failure("latin1 text holds a character above U+00FF", at: offset) }
                bytes.append(UInt8(scalar.value))
            }
            return .bytes(bytes)
        case ("__builtin__", "bytes"), ("builtins", "bytes"), ("__builtin__", "bytearray"), ("builtins", "bytearray"):
            if case .bytes(let data)? = arguments.first { return .bytes(data) }
            return .bytes([])
        default:
            throw failure("the global \(module).\(name) is not one of the supported types", at: offset)
        }
    }

    private static func dateTime(_ arguments: [PickleValue], at offset: Int) throws(WireFormatError) -> PickleValue {
        var offsetSeconds: Int?
        if arguments.count > 1 {
            switch arguments[1] {
            case .timezone(let seconds): offsetSeconds = seconds
            case .none: offsetSeconds = nil
            default: throw failure("datetime has a tzinfo other than datetime.timezone", at: offset)
            }
        }
        guard case .bytes(let state)? = arguments.first, state.count == 10 else {
            throw failure("datetime needs its 10-byte state", at: offset)
        }
        // The top bit of the month byte is the `fold` flag, which does not change a UTC instant.
        return .datetime(
            PickleDateTime(
                year: Int(state[0]) << 8 | Int(state[1]), month: Int(state[2] & 0x7F), day: Int(state[3]),
                hour: Int(state[4]), minute: Int(state[5]), second: Int(state[6]),
                microsecond: Int(state[7]) << 16 | Int(state[8]) << 8 | Int(state[9]), utcOffsetSeconds: offsetSeconds))
    }

    private static func failure(_ message: String, at offset: Int) -> WireFormatError {
        WireFormatError(format: "pickle", message, offset: offset)
    }
}
