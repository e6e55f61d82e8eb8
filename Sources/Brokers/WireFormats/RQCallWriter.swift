import Engine

/// Writes the two forms of an RQ job's call in one walk of its values:
/// the pickle that the `data` field compresses, and the `description`.
///
/// The pickle is the bytes of ``RQJob/serializedCall(_:serializer:)`` with
/// the pickle serializer, and the description is the bytes of
/// ``PythonRepr/callBytes(_:args:kwargs:)``. Both go into buffers written
/// through pointers, so that a job costs one pass over its arguments and
/// no array appends.
struct RQCallWriter: ~Copyable {
    /// `(func_name, None, args, kwargs)` pickled at protocol 2.
    private(set) var pickle = ByteBuffer(capacity: 1024)
    /// `func_name(arg, ..., key=value, ...)`.
    private(set) var description = ByteBuffer(capacity: 1024)

    /// Writes both forms of `task`'s call.
    init(_ task: TaskMessage) {
        pickle.reserve(3)
        pickle.appendReserved(Opcode.proto)
        pickle.appendReserved(2)
        pickle.appendReserved(Opcode.mark)
        Self.withUTF8(task.taskName) { name in
            writePickleString(name)
            description.append(name)
        }
        pickle.append(Opcode.none)
        description.append(UInt8(ascii: "("))

        let args = task.args
        if args.count >= 4 { pickle.append(Opcode.mark) }
        args.withUnsafeBufferPointer { items in
            for index in items.indices {
                if index > 0 { appendSeparator() }
                write(items[index])
            }
        }
        switch args.count {
        case 0: pickle.append(Opcode.emptyTuple)
        case 1: pickle.append(Opcode.tuple1)
        case 2: pickle.append(Opcode.tuple2)
        case 3: pickle.append(Opcode.tuple3)
        default: pickle.append(Opcode.tuple)
        }

        let kwargs = task.kwargs.members
        pickle.append(Opcode.emptyDict)
        if !kwargs.isEmpty { pickle.append(Opcode.mark) }
        kwargs.withUnsafeBufferPointer { members in
            for index in members.indices {
                if index > 0 || !args.isEmpty { appendSeparator() }
                Self.withUTF8(members[index].key) { key in
                    writePickleString(key)
                    description.reserve(key.count + 1)
                    description.appendReserved(key)
                    description.appendReserved(UInt8(ascii: "="))
                }
                write(members[index].value)
            }
        }
        if !kwargs.isEmpty { pickle.append(Opcode.setItems) }

        pickle.reserve(2)
        pickle.appendReserved(Opcode.tuple)
        pickle.appendReserved(Opcode.stop)
        description.append(UInt8(ascii: ")"))
    }

    /// Writes one value to both forms, as `PickleEncoder.write(json:into:)`
    /// and `PythonRepr.string(_:)` write it.
    private mutating func write(_ value: JSONValue) {
        switch value {
        case .null:
            pickle.append(Opcode.none)
            description.append("None")
        case .bool(let flag):
            pickle.append(flag ? Opcode.newTrue : Opcode.newFalse)
            description.append(flag ? "True" : "False")
        case .int(let number):
            writePickleInt(number)
            description.appendDecimal(number)
        case .double(let number):
            pickle.reserve(9)
            pickle.appendReserved(Opcode.binFloat)
            pickle.appendReservedBigEndian(number.bitPattern)
            writeReprFloat(number)
        case .string(let text):
            Self.withUTF8(text) { bytes in
                writePickleString(bytes)
                writeReprString(bytes, text: text)
            }
        case .array(let items):
            pickle.append(Opcode.emptyList)
            description.append(UInt8(ascii: "["))
            if !items.isEmpty { pickle.append(Opcode.mark) }
            // Reading the elements in place, not copying them out, saves a
            // retain and release per element.
            items.withUnsafeBufferPointer { items in
                for index in items.indices {
                    if index > 0 { appendSeparator() }
                    write(items[index])
                }
            }
            if !items.isEmpty { pickle.append(Opcode.appends) }
            description.append(UInt8(ascii: "]"))
        case .object(let object):
            pickle.append(Opcode.emptyDict)
            description.append(UInt8(ascii: "{"))
            if !object.isEmpty { pickle.append(Opcode.mark) }
            object.members.withUnsafeBufferPointer { members in
                for index in members.indices {
                    if index > 0 { appendSeparator() }
                    let key = members[index].key
                    Self.withUTF8(key) { bytes in
                        writePickleString(bytes)
                        writeReprString(bytes, text: key)
                    }
                    description.reserve(2)
                    description.appendReserved(UInt8(ascii: ":"))
                    description.appendReserved(UInt8(ascii: " "))
                    write(members[index].value)
                }
            }
            if !object.isEmpty { pickle.append(Opcode.setItems) }
            description.append(UInt8(ascii: "}"))
        }
    }

    /// Appends ", " to the description between items.
    @inline(__always)
    private mutating func appendSeparator() {
        description.reserve(2)
        description.appendReserved(UInt8(ascii: ","))
        description.appendReserved(UInt8(ascii: " "))
    }

    /// Writes BINUNICODE: the opcode, the UTF-8 length as 4 bytes little-endian, the bytes.
    private mutating func writePickleString(_ bytes: UnsafeBufferPointer<UInt8>) {
        pickle.reserve(5 + bytes.count)
        pickle.appendReserved(Opcode.binUnicode)
        pickle.appendReservedLittleEndian(UInt32(bytes.count))
        pickle.appendReserved(bytes)
    }

    /// Writes an int with the opcodes of `PickleEncoder`: BININT1, BININT2,
    /// BININT, or LONG1 with the shortest two's-complement form.
    private mutating func writePickleInt(_ number: Int64) {
        pickle.reserve(10)
        switch number {
        case 0...0xFF:
            pickle.appendReserved(Opcode.binInt1)
            pickle.appendReserved(UInt8(number))
        case 0x100...0xFFFF:
            pickle.appendReserved(Opcode.binInt2)
            pickle.appendReservedLittleEndian(UInt16(number))
        case Int64(Int32.min)...Int64(Int32.max):
            pickle.appendReserved(Opcode.binInt)
            pickle.appendReservedLittleEndian(Int32(number))
        default:
            // Outside the Int32 range at least 5 bytes are needed. A byte
            // can go while it only repeats the sign of the byte below it.
            var length = 8
            while length > 5 {
                let top = number >> ((length - 1) * 8)
                let signOfNext = (number >> ((length - 2) * 8 + 7)) & 1
                guard (top == 0 && signOfNext == 0) || (top == -1 && signOfNext == 1) else { break }
                length -= 1
            }
            pickle.appendReserved(Opcode.long1)
            pickle.appendReserved(UInt8(length))
            for index in 0..<length {
                pickle.appendReserved(UInt8(truncatingIfNeeded: number >> (index * 8)))
            }
        }
    }

    /// Writes `repr(text)`. Printable ASCII without a quote or backslash is
    /// copied in single quotes, and other text goes through ``PythonRepr``.
    private mutating func writeReprString(_ bytes: UnsafeBufferPointer<UInt8>, text: String) {
        guard Self.isPlainASCII(bytes) else {
            description.append(Array(PythonRepr.string(.string(text)).utf8))
            return
        }
        description.reserve(bytes.count + 2)
        description.appendReserved(UInt8(ascii: "'"))
        description.appendReserved(bytes)
        description.appendReserved(UInt8(ascii: "'"))
    }

    /// Returns whether every byte is printable ASCII (0x20 to 0x7E) other
    /// than `'` and `\`, the text that Python's repr copies as it is.
    ///
    /// Eight bytes are tested at a time with the usual word tests for a
    /// byte below 0x20, a byte above 0x7E and a zero byte (after an XOR
    /// with each excluded character). Each test shows only whether some
    /// byte of the word matches, which is all that is needed here.
    static func isPlainASCII(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard var position = bytes.baseAddress else { return true }
        let end = position + bytes.count
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highBits: UInt64 = 0x8080_8080_8080_8080
        while end - position >= 8 {
            let word = UnsafeRawPointer(position).loadUnaligned(as: UInt64.self)
            let below = (word &- ones &* 0x20) & ~word
            let above = (word &+ ones &* (127 - 0x7E)) | word
            let quote = word ^ (ones &* UInt64(UInt8(ascii: "'")))
            let backslash = word ^ (ones &* UInt64(UInt8(ascii: "\\")))
            let quoteFound = (quote &- ones) & ~quote
            let backslashFound = (backslash &- ones) & ~backslash
            if (below | above | quoteFound | backslashFound) & highBits != 0 { return false }
            position += 8
        }
        while position < end {
            let byte = position.pointee
            if byte &- 0x20 >= 0x5F || byte == UInt8(ascii: "\\") || byte == UInt8(ascii: "'") { return false }
            position += 1
        }
        return true
    }

    /// Writes `repr(number)`. A whole number below 2^53 in magnitude is
    /// written as its integer digits and `.0`, which is Python's repr, since
    /// such a double is exactly that integer and repr switches to exponent
    /// form only from 1e16. Other values go through
    /// ``RestflowKeyText/pythonFloat(_:)``.
    private mutating func writeReprFloat(_ number: Double) {
        let exactLimit = 9_007_199_254_740_992.0
        if number.rounded(.towardZero) == number, abs(number) < exactLimit, !(number == 0 && number.sign == .minus) {
            description.appendDecimal(Int64(number))
            description.append(".0")
        } else {
            description.append(Array(RestflowKeyText.pythonFloat(number).utf8))
        }
    }

    /// Calls `body` with the UTF-8 of `text`, lent without a copy when the
    /// string stores it contiguously, which native Swift strings do.
    @inline(__always)
    private static func withUTF8(_ text: String, _ body: (UnsafeBufferPointer<UInt8>) -> Void) {
        if text.utf8.withContiguousStorageIfAvailable(body) == nil {
            Array(text.utf8).withUnsafeBufferPointer(body)
        }
    }
}
