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

    init(descriptor: Int32 = 1) {
        self.descriptor = descriptor
        capacity = 2 * Self.flushSize
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

    /// Returns the waiting bytes as an array and empties the buffer.
    func take() -> [UInt8] {
        let bytes = Array(UnsafeBufferPointer(start: storage, count: count))
        count = 0
        return bytes
    }

    // MARK: - Appending

    @inline(__always)
    private func reserve(_ extra: Int) {
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

    func append(_ bytes: UnsafeRawBufferPointer) {
        guard let source = bytes.baseAddress, bytes.count > 0 else { return }
        reserve(bytes.count)
        UnsafeMutableRawPointer(storage + count).copyMemory(from: source, byteCount: bytes.count)
        count += bytes.count
    }

    /// Appends literal text, such as JSON punctuation and member names.
    @inline(__always)
    func append(_ text: StaticString) {
        append(UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    /// Appends `value` in decimal, as `JSONWriter` writes an integer.
    func appendDecimal(_ value: Int64) {
        reserve(20)
        var magnitude = value.magnitude
        var digits = 0
        var scan = magnitude
        repeat {
            digits += 1
            scan /= 10
        } while scan > 0
        if value < 0 {
            storage[count] = UInt8(ascii: "-")
            count += 1
        }
        var position = count + digits - 1
        repeat {
            storage[position] = UInt8(ascii: "0") + UInt8(magnitude % 10)
            magnitude /= 10
            position -= 1
        } while magnitude > 0
        count += digits
    }

    /// Appends `text` quoted, the same bytes as `JSONWriter.writeString`.
    func appendJSONString(_ text: String) {
        var copy = text
        let copied = copy.withUTF8 { bytes -> Bool in
            for byte in bytes where byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
                return false
            }
            reserve(bytes.count + 2)
            storage[count] = UInt8(ascii: "\"")
            count += 1
            append(UnsafeRawBufferPointer(bytes))
            storage[count] = UInt8(ascii: "\"")
            count += 1
            return true
        }
        guard !copied else { return }
        // Text that needs escapes is rare here, so JSONWriter escapes it.
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
        case .double, .array:
            var text: [UInt8] = []
            JSONWriter.write(value, into: &text)
            text.withUnsafeBytes { append($0) }
        case .object(let object):
            append(UInt8(ascii: "{"))
            for (index, member) in object.members.enumerated() {
                if index > 0 { append(UInt8(ascii: ",")) }
                appendJSONString(member.key)
                append(UInt8(ascii: ":"))
                appendJSON(member.value)
            }
            append(UInt8(ascii: "}"))
        }
    }
}
