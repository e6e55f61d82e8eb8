import Engine
import Foundation

/// A buffered writer to a file descriptor, for output of many lines.
///
/// The bytes go to one block of memory written through a pointer, so a
/// record encoded member by member costs one copy per member and no array
/// bookkeeping. The block is written out once it contains 64 KiB.
final class LineWriter {
    private var storage: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    /// Bytes waiting to be written.
    private(set) var count = 0
    private let descriptor: Int32
    static let flushSize = 1 << 16

    /// Creates a writer to `descriptor` whose buffer starts with `capacity`
    /// bytes and grows as needed.
    init(descriptor: Int32 = 1, capacity: Int = 2 * LineWriter.flushSize) {
        self.descriptor = descriptor
        self.capacity = capacity
        storage = .allocate(capacity: capacity)
    }

    deinit {
        storage.deallocate()
    }

    func write(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { append($0) }
        flushIfFull()
    }

    func write(_ text: String) {
        write(Array(text.utf8))
    }

    /// Writes the buffer out once it contains `flushSize` bytes or more.
    func flushIfFull() {
        if count >= Self.flushSize { flush() }
    }

    func flush() {
        var offset = 0
        while offset < count {
            let written = Foundation.write(descriptor, storage + offset, count - offset)
            if written <= 0 { break }
            offset += written
        }
        count = 0
    }

    /// Drops the last `count` bytes appended.
    func removeLast(_ count: Int) {
        precondition(count >= 0 && count <= self.count, "cannot drop more bytes than the buffer has")
        self.count -= count
    }

    /// Returns the waiting bytes as an array and empties the buffer.
    func take() -> [UInt8] {
        let bytes = Array(UnsafeBufferPointer(start: storage, count: count))
        count = 0
        return bytes
    }

    // MARK: - Appending

    /// Makes room for `extra` more bytes, which the `Reserved` appends that
    /// follow may then fill without checking for room each time.
    @inline(__always)
    func reserve(_ extra: Int) {
        if count + extra > capacity { grow(to: count + extra) }
    }

    private func grow(to needed: Int) {
        var larger = capacity * 2
        while larger < needed { larger *= 2 }
        let moved = UnsafeMutablePointer<UInt8>.allocate(capacity: larger)
        moved.update(from: storage, count: count)
        storage.deallocate()
        storage = moved
        capacity = larger
    }

    @inline(__always)
    func append(_ byte: UInt8) {
        reserve(1)
        storage[count] = byte
        count += 1
    }

    @inline(__always)
    func append(_ bytes: UnsafeRawBufferPointer) {
        reserve(bytes.count)
        appendReserved(bytes)
    }

    /// Appends `bytes` into room made by ``reserve(_:)``.
    @inline(__always)
    func appendReserved(_ bytes: UnsafeRawBufferPointer) {
        guard let source = bytes.baseAddress, bytes.count > 0 else { return }
        Self.copy(source, count: bytes.count, to: UnsafeMutableRawPointer(storage + count))
        count += bytes.count
    }

    /// Appends literal text into room made by ``reserve(_:)``.
    @inline(__always)
    func appendReserved(_ text: StaticString) {
        appendReserved(UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    /// Appends literal text, such as JSON punctuation and member names.
    @inline(__always)
    func append(_ text: StaticString) {
        append(UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    /// Appends the UTF-8 bytes of `text` as they are.
    func append(utf8Of text: String) {
        var copy = text
        copy.withUTF8 { append(UnsafeRawBufferPointer($0)) }
    }

    /// Copies `count` bytes. Up to 64 bytes are copied with two overlapping
    /// loads and stores, and up to 256 in 32-byte steps. For the short pieces
    /// a record is made of, that costs less than a call to `memmove`.
    @inline(__always)
    private static func copy(_ source: UnsafeRawPointer, count: Int, to destination: UnsafeMutableRawPointer) {
        switch count {
        case 32...64:
            copyOverlapping(source, count: count, to: destination, as: SIMD32<UInt8>.self)
        case 16..<32:
            copyOverlapping(source, count: count, to: destination, as: SIMD16<UInt8>.self)
        case 8..<16:
            copyOverlapping(source, count: count, to: destination, as: UInt64.self)
        case 4..<8:
            copyOverlapping(source, count: count, to: destination, as: UInt32.self)
        case 0..<4:
            for index in 0..<count {
                destination.storeBytes(of: source.load(fromByteOffset: index, as: UInt8.self), toByteOffset: index, as: UInt8.self)
            }
        case 65...256:
            var offset = 0
            while offset < count - 32 {
                let chunk = source.loadUnaligned(fromByteOffset: offset, as: SIMD32<UInt8>.self)
                destination.storeBytes(of: chunk, toByteOffset: offset, as: SIMD32<UInt8>.self)
                offset += 32
            }
            copyOverlapping(source + (count - 32), count: 32, to: destination + (count - 32), as: SIMD32<UInt8>.self)
        default:
            destination.copyMemory(from: source, byteCount: count)
        }
    }

    /// Copies `count` bytes, at least one and at most two `Word`s, as the
    /// first and the last `Word` of the range, which may overlap.
    @inline(__always)
    private static func copyOverlapping<Word>(
        _ source: UnsafeRawPointer, count: Int, to destination: UnsafeMutableRawPointer, as word: Word.Type
    ) {
        let size = MemoryLayout<Word>.size
        let head = source.loadUnaligned(as: Word.self)
        let tail = source.loadUnaligned(fromByteOffset: count - size, as: Word.self)
        destination.storeBytes(of: head, as: Word.self)
        destination.storeBytes(of: tail, toByteOffset: count - size, as: Word.self)
    }

    /// Appends the `length` bytes that start `offset` bytes into the buffer,
    /// such as a number already written once to the same line.
    func appendCopy(ofBytesAt offset: Int, length: Int) {
        reserve(length)
        appendReserved(UnsafeRawBufferPointer(start: storage + offset, count: length))
    }

    /// Appends `value` in decimal, as `JSONWriter` writes an integer.
    @inline(__always)
    func appendDecimal(_ value: Int64) {
        reserve(20)
        appendDecimalReserved(value)
    }

    /// Appends `value` in decimal into room made by ``reserve(_:)``: up to 20 bytes.
    @inline(__always)
    func appendDecimalReserved(_ value: Int64) {
        if value < 0 {
            storage[count] = UInt8(ascii: "-")
            count += 1
        }
        var magnitude = value.magnitude
        let digits = Self.digitCount(magnitude)
        // Written from the last digit back, two digits per division, from a
        // row of the pairs "00" to "99".
        let pairs = UnsafeRawPointer(Self.digitPairs.utf8Start)
        let output = UnsafeMutableRawPointer(storage + count)
        var position = digits
        while magnitude >= 100 {
            let pair = Int(magnitude % 100) &* 2
            magnitude /= 100
            position -= 2
            output.storeBytes(of: pairs.loadUnaligned(fromByteOffset: pair, as: UInt16.self), toByteOffset: position, as: UInt16.self)
        }
        if magnitude >= 10 {
            let pair = Int(magnitude) &* 2
            output.storeBytes(of: pairs.loadUnaligned(fromByteOffset: pair, as: UInt16.self), as: UInt16.self)
        } else {
            output.storeBytes(of: UInt8(ascii: "0") + UInt8(magnitude), as: UInt8.self)
        }
        count += digits
    }

    private static let digitPairs: StaticString = """
        00010203040506070809101112131415161718192021222324252627282930313233343536373839\
        40414243444546474849505152535455565758596061626364656667686970717273747576777879\
        8081828384858687888990919293949596979899
        """

    /// Returns the number of decimal digits of `value`, 1 for zero.
    private static func digitCount(_ value: UInt64) -> Int {
        var digits = 1
        var rest = value
        while rest >= 10_000 {
            rest /= 10_000
            digits += 4
        }
        if rest >= 1000 { return digits + 3 }
        if rest >= 100 { return digits + 2 }
        if rest >= 10 { return digits + 1 }
        return digits
    }

    /// Appends `text` quoted, the same bytes as `JSONWriter.writeString`.
    func appendJSONString(_ text: String) {
        var copy = text
        copy.withUTF8 { bytes in
            let source = UnsafeRawBufferPointer(bytes)
            guard !Self.needsEscape(source) else { return appendEscaped(text) }
            reserve(bytes.count + 2)
            storage[count] = UInt8(ascii: "\"")
            if let base = source.baseAddress {
                Self.copy(base, count: source.count, to: UnsafeMutableRawPointer(storage + count + 1))
            }
            storage[count + bytes.count + 1] = UInt8(ascii: "\"")
            count += bytes.count + 2
        }
    }

    /// Returns whether `bytes` contain a byte JSON must escape: a control
    /// character, a quotation mark or a backslash.
    ///
    /// Eight bytes are tested at a time: a byte below 0x20 borrows when 0x20
    /// is subtracted from it, and a byte equal to `c` is zero after an
    /// exclusive or with `c`. A borrow can only mark a byte above one that is
    /// below the limit, so a word is marked exactly when one of its bytes is.
    @inline(__always)
    private static func needsEscape(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard bytes.count >= 8, let base = bytes.baseAddress else {
            for byte in bytes where byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
                return true
            }
            return false
        }
        // The last word overlaps the one before it when the count is not a
        // multiple of eight; testing a byte twice changes nothing.
        var offset = 0
        while true {
            if wordNeedsEscape(base.loadUnaligned(fromByteOffset: offset, as: UInt64.self)) { return true }
            if offset == bytes.count - 8 { return false }
            offset = min(offset + 8, bytes.count - 8)
        }
    }

    @inline(__always)
    private static func wordNeedsEscape(_ word: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highBits: UInt64 = 0x8080_8080_8080_8080
        let quotes = word ^ (ones &* 0x22)
        let backslashes = word ^ (ones &* 0x5C)
        let control = (word &- ones &* 0x20) & ~word
        let quote = (quotes &- ones) & ~quotes
        let backslash = (backslashes &- ones) & ~backslashes
        return (control | quote | backslash) & highBits != 0
    }

    /// Text that needs escapes is rare here, so `JSONWriter` escapes it.
    private func appendEscaped(_ text: String) {
        var escaped: [UInt8] = []
        JSONWriter.writeString(text, into: &escaped)
        escaped.withUnsafeBytes { append($0) }
    }

    /// Appends the compact JSON text of `value`, the same bytes as `JSONWriter.write`.
    func appendJSON(_ value: JSONValue) {
        switch value {
        case .null: append("null")
        case .bool(let flag): flag ? append("true") : append("false")
        case .int(let number): appendDecimal(number)
        case .string(let text): appendJSONString(text)
        case .double(let number):
            // JSONWriter writes a float that is not finite as null.
            guard number.isFinite else { return append("null") }
            append(utf8Of: number.description)
        case .array(let items):
            append(UInt8(ascii: "["))
            for index in items.indices {
                if index > 0 { append(UInt8(ascii: ",")) }
                appendJSON(items[index])
            }
            append(UInt8(ascii: "]"))
        case .object(let object): appendJSON(object)
        }
    }

    /// Appends the compact JSON text of `object`, members in their order.
    func appendJSON(_ object: JSONObject) {
        append(UInt8(ascii: "{"))
        let members = object.members
        for index in members.indices {
            if index > 0 { append(UInt8(ascii: ",")) }
            appendJSONString(members[index].key)
            append(UInt8(ascii: ":"))
            appendJSON(members[index].value)
        }
        append(UInt8(ascii: "}"))
    }
}
