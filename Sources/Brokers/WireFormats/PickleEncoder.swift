import Engine

/// Writes Python pickles, protocol 2, for the values in ``PickleValue``.
///
/// The output uses no memo and no framing, which every Python 3 unpickler
/// accepts, so it is byte-for-byte predictable. Bytes use SHORT_BINBYTES and
/// BINBYTES (protocol 3 opcodes) even in a protocol 2 stream, as the
/// datetime state does: Python's loader reads any opcode it knows
/// regardless of the PROTO header, and the workers of RQ, django-q2 and
/// Django's signer use that loader.
public enum PickleEncoder {
    /// Returns the complete pickle of `value`: PROTO 2, the value, STOP.
    public static func encode(_ value: PickleValue) -> [UInt8] {
        var output: [UInt8] = [Opcode.proto, 2]
        output.reserveCapacity(256)
        write(value, into: &output)
        output.append(Opcode.stop)
        return output
    }

    /// Appends the opcodes for `value` to `output`.
    public static func write(_ value: PickleValue, into output: inout [UInt8]) {
        switch value {
        case .none: output.append(Opcode.none)
        case .bool(let flag): output.append(flag ? Opcode.newTrue : Opcode.newFalse)
        case .int(let number): writeInt(number, into: &output)
        case .float(let number):
            output.append(Opcode.binFloat)
            appendBigEndian(number.bitPattern, into: &output)
        case .string(let text): writeString(text, into: &output)
        case .bytes(let data): writeBytes(data, into: &output)
        case .tuple(let items): writeTuple(items, into: &output)
        case .list(let items):
            output.append(Opcode.emptyList)
            guard !items.isEmpty else { return }
            output.append(Opcode.mark)
            for item in items { write(item, into: &output) }
            output.append(Opcode.appends)
        case .dict(let entries):
            output.append(Opcode.emptyDict)
            guard !entries.isEmpty else { return }
            output.append(Opcode.mark)
            for entry in entries {
                write(entry.key, into: &output)
                write(entry.value, into: &output)
            }
            output.append(Opcode.setItems)
        case .datetime(let moment): writeDateTime(moment, into: &output)
        case .timedelta(let days, let seconds, let microseconds):
            writeGlobal(module: "datetime", name: "timedelta", into: &output)
            writeTuple([.int(days), .int(seconds), .int(microseconds)], into: &output)
            output.append(Opcode.reduce)
        case .timezone(let offset):
            writeGlobal(module: "datetime", name: "timezone", into: &output)
            write(.timedelta(days: 0, seconds: Int64(offset), microseconds: 0).normalizedTimedelta, into: &output)
            output.append(Opcode.tuple1)
            output.append(Opcode.reduce)
        }
    }

    /// Appends the opcodes for `value` as ``write(_:into:)`` writes
    /// `PickleValue(json: value)`, without building that value first.
    public static func write(json value: JSONValue, into output: inout [UInt8]) {
        switch value {
        case .null: output.append(Opcode.none)
        case .bool(let flag): output.append(flag ? Opcode.newTrue : Opcode.newFalse)
        case .int(let number): writeInt(number, into: &output)
        case .double(let number):
            output.append(Opcode.binFloat)
            appendBigEndian(number.bitPattern, into: &output)
        case .string(let text): writeString(text, into: &output)
        case .array(let items):
            output.append(Opcode.emptyList)
            guard !items.isEmpty else { return }
            output.append(Opcode.mark)
            // Reading the elements in place, not copying them out, saves a
            // retain and release per element.
            items.withUnsafeBufferPointer { items in
                for index in items.indices { write(json: items[index], into: &output) }
            }
            output.append(Opcode.appends)
        case .object(let object):
            output.append(Opcode.emptyDict)
            guard !object.isEmpty else { return }
            output.append(Opcode.mark)
            object.members.withUnsafeBufferPointer { members in
                for index in members.indices {
                    writeString(members[index].key, into: &output)
                    write(json: members[index].value, into: &output)
                }
            }
            output.append(Opcode.setItems)
        }
    }

    /// Appends a tuple of JSON values as ``write(_:into:)`` writes
    /// `.tuple(items.map(PickleValue.init(json:)))`.
    public static func writeTuple(json items: [JSONValue], into output: inout [UInt8]) {
        switch items.count {
        case 0:
            output.append(Opcode.emptyTuple)
        case 1...3:
            for item in items { write(json: item, into: &output) }
            output.append(tupleOpcode(items.count))
        default:
            output.append(Opcode.mark)
            for item in items { write(json: item, into: &output) }
            output.append(Opcode.tuple)
        }
    }

    /// Returns TUPLE1, TUPLE2 or TUPLE3 for `count` of 1 to 3.
    private static func tupleOpcode(_ count: Int) -> UInt8 {
        switch count {
        case 1: return Opcode.tuple1
        case 2: return Opcode.tuple2
        default: return Opcode.tuple3
        }
    }

    private static func writeInt(_ number: Int64, into output: inout [UInt8]) {
        switch number {
        case 0...0xFF:
            output.append(Opcode.binInt1)
            output.append(UInt8(number))
        case 0x100...0xFFFF:
            output.append(Opcode.binInt2)
            output.append(UInt8(number & 0xFF))
            output.append(UInt8(number >> 8))
        case Int64(Int32.min)...Int64(Int32.max):
            output.append(Opcode.binInt)
            appendLittleEndian(UInt32(bitPattern: Int32(number)), into: &output)
        default:
            // LONG1: the shortest two's-complement little-endian form that keeps the sign.
            var bytes = withUnsafeBytes(of: number.littleEndian) { Array($0) }
            while bytes.count > 1 {
                let last = bytes[bytes.count - 1]
                let signOfNext = bytes[bytes.count - 2] & 0x80
                guard (last == 0x00 && signOfNext == 0) || (last == 0xFF && signOfNext != 0) else { break }
                bytes.removeLast()
            }
            output.append(Opcode.long1)
            output.append(UInt8(bytes.count))
            output.append(contentsOf: bytes)
        }
    }

    private static func writeString(_ text: String, into output: inout [UInt8]) {
        let utf8 = text.utf8
        output.append(Opcode.binUnicode)
        appendLittleEndian(UInt32(utf8.count), into: &output)
        // Native and small strings lend their bytes without a copy, and other strings are read in order.
        if utf8.withContiguousStorageIfAvailable({ output.append(contentsOf: $0) }) == nil {
            output.append(contentsOf: utf8)
        }
    }

    private static func writeBytes(_ data: [UInt8], into output: inout [UInt8]) {
        if data.count < 256 {
            output.append(Opcode.shortBinBytes)
            output.append(UInt8(data.count))
        } else {
            output.append(Opcode.binBytes)
            appendLittleEndian(UInt32(data.count), into: &output)
        }
        output.append(contentsOf: data)
    }

    private static func writeTuple(_ items: [PickleValue], into output: inout [UInt8]) {
        switch items.count {
        case 0:
            output.append(Opcode.emptyTuple)
        case 1...3:
            for item in items { write(item, into: &output) }
            output.append(tupleOpcode(items.count))
        default:
            output.append(Opcode.mark)
            for item in items { write(item, into: &output) }
            output.append(Opcode.tuple)
        }
    }

    /// Writes `datetime.datetime(state[, tz])` the way CPython's reduction
    /// does: the 10-byte state, then for an aware value a
    /// `timezone(timedelta(...))` built by REDUCE.
    private static func writeDateTime(_ moment: PickleDateTime, into output: inout [UInt8]) {
        writeGlobal(module: "datetime", name: "datetime", into: &output)
        let year = moment.year
        let micro = moment.microsecond
        let state: [UInt8] = [
            UInt8(year >> 8), UInt8(year & 0xFF), UInt8(moment.month), UInt8(moment.day), UInt8(moment.hour),
            UInt8(moment.minute), UInt8(moment.second), UInt8(micro >> 16), UInt8((micro >> 8) & 0xFF),
            UInt8(micro & 0xFF),
        ]
        writeBytes(state, into: &output)
        if let offset = moment.utcOffsetSeconds {
            write(.timezone(offsetSeconds: offset), into: &output)
            output.append(Opcode.tuple2)
        } else {
            output.append(Opcode.tuple1)
        }
        output.append(Opcode.reduce)
    }

    private static func writeGlobal(module: String, name: String, into output: inout [UInt8]) {
        output.append(Opcode.global)
        output.append(contentsOf: module.utf8)
        output.append(0x0A)
        output.append(contentsOf: name.utf8)
        output.append(0x0A)
    }

    private static func appendLittleEndian<T: FixedWidthInteger>(_ number: T, into output: inout [UInt8]) {
        for shift in stride(from: 0, to: T.bitWidth, by: 8) {
            output.append(UInt8(truncatingIfNeeded: number >> shift))
        }
    }

    private static func appendBigEndian<T: FixedWidthInteger>(_ number: T, into output: inout [UInt8]) {
        withUnsafeBytes(of: number.bigEndian) { output.append(contentsOf: $0) }
    }
}

extension PickleValue {
    /// A timedelta with `seconds` in 0..<86400 and `microseconds` in
    /// 0..<1_000_000, the form Python stores; other values are unchanged.
    var normalizedTimedelta: PickleValue {
        guard case .timedelta(let days, let seconds, let microseconds) = self else { return self }
        let totalMicros = (days * 86_400 + seconds) * 1_000_000 + microseconds
        let dayMicros: Int64 = 86_400 * 1_000_000
        let wholeDays = totalMicros >= 0 ? totalMicros / dayMicros : (totalMicros - dayMicros + 1) / dayMicros
        let rest = totalMicros - wholeDays * dayMicros
        return .timedelta(days: wholeDays, seconds: rest / 1_000_000, microseconds: rest % 1_000_000)
    }
}

/// Pickle opcodes, named as in CPython's `pickle` module.
enum Opcode {
    static let mark: UInt8 = 0x28  // (
    static let stop: UInt8 = 0x2E  // .
    static let pop: UInt8 = 0x30  // 0
    static let popMark: UInt8 = 0x31  // 1
    static let dup: UInt8 = 0x32  // 2
    static let binFloat: UInt8 = 0x47  // G
    static let binInt: UInt8 = 0x4A  // J
    static let binInt1: UInt8 = 0x4B  // K
    static let binInt2: UInt8 = 0x4D  // M
    static let none: UInt8 = 0x4E  // N
    static let reduce: UInt8 = 0x52  // R
    static let binUnicode: UInt8 = 0x58  // X
    static let emptyList: UInt8 = 0x5D  // ]
    static let append: UInt8 = 0x61  // a
    static let build: UInt8 = 0x62  // b
    static let global: UInt8 = 0x63  // c
    static let appends: UInt8 = 0x65  // e
    static let binGet: UInt8 = 0x68  // h
    static let longBinGet: UInt8 = 0x6A  // j
    static let binPut: UInt8 = 0x71  // q
    static let longBinPut: UInt8 = 0x72  // r
    static let setItem: UInt8 = 0x73  // s
    static let tuple: UInt8 = 0x74  // t
    static let setItems: UInt8 = 0x75  // u
    static let emptyDict: UInt8 = 0x7D  // }
    static let emptyTuple: UInt8 = 0x29  // )
    static let binBytes: UInt8 = 0x42  // B
    static let shortBinBytes: UInt8 = 0x43  // C
    static let shortBinString: UInt8 = 0x55  // U
    static let binString: UInt8 = 0x54  // T
    static let proto: UInt8 = 0x80
    static let newObj: UInt8 = 0x81
    static let tuple1: UInt8 = 0x85
    static let tuple2: UInt8 = 0x86
    static let tuple3: UInt8 = 0x87
    static let newTrue: UInt8 = 0x88
    static let newFalse: UInt8 = 0x89
    static let long1: UInt8 = 0x8A
    static let long4: UInt8 = 0x8B
    static let shortBinUnicode: UInt8 = 0x8C
    static let binUnicode8: UInt8 = 0x8D
    static let binBytes8: UInt8 = 0x8E
    static let emptySet: UInt8 = 0x8F
    static let addItems: UInt8 = 0x90
    static let frozenSet: UInt8 = 0x91
    static let stackGlobal: UInt8 = 0x93
    static let memoize: UInt8 = 0x94
    static let frame: UInt8 = 0x95
    static let byteArray8: UInt8 = 0x96
}
