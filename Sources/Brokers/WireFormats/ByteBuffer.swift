/// Output bytes written through a pointer, for encoders that append
/// many small pieces.
///
/// Appending to `[UInt8]` checks that the array is uniquely referenced on
/// every call. Here, a caller reserves room once per value and then writes
/// without checks. The buffer is noncopyable, so its storage has exactly
/// one owner, which frees it.
struct ByteBuffer: ~Copyable {
    private(set) var start: UnsafeMutablePointer<UInt8>
    private(set) var count = 0
    private var capacity: Int

    init(capacity: Int) {
        self.capacity = max(16, capacity)
        start = .allocate(capacity: self.capacity)
    }

    deinit {
        start.deallocate()
    }

    /// The bytes written so far, valid until the next write.
    var bytes: UnsafeBufferPointer<UInt8> { UnsafeBufferPointer(start: start, count: count) }

    /// Makes room for `extra` more bytes, for the unchecked writes that follow.
    @inline(__always)
    mutating func reserve(_ extra: Int) {
        if count + extra > capacity { grow(to: count + extra) }
    }

    @inline(never)
    private mutating func grow(to minimum: Int) {
        let newCapacity = max(minimum, capacity * 2)
        let newStart = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        newStart.initialize(from: start, count: count)
        start.deallocate()
        start = newStart
        capacity = newCapacity
    }

    @inline(__always)
    mutating func append(_ byte: UInt8) {
        reserve(1)
        appendReserved(byte)
    }

    mutating func append(_ bytes: UnsafeBufferPointer<UInt8>) {
        reserve(bytes.count)
        appendReserved(bytes)
    }

    mutating func append(_ bytes: [UInt8]) {
        bytes.withUnsafeBufferPointer { append($0) }
    }

    /// Appends the UTF-8 of a string literal.
    mutating func append(_ text: StaticString) {
        append(UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    /// Appends one byte within room already made with ``reserve(_:)``.
    @inline(__always)
    mutating func appendReserved(_ byte: UInt8) {
        start[count] = byte
        count += 1
    }

    /// Appends bytes within room already made with ``reserve(_:)``.
    @inline(__always)
    mutating func appendReserved(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard let source = bytes.baseAddress else { return }
        (start + count).initialize(from: source, count: bytes.count)
        count += bytes.count
    }

    /// Appends a fixed-width integer's bytes, least significant first, within reserved room.
    @inline(__always)
    mutating func appendReservedLittleEndian<T: FixedWidthInteger>(_ number: T) {
        UnsafeMutableRawPointer(start + count).storeBytes(of: number.littleEndian, as: T.self)
        count += MemoryLayout<T>.size
    }

    /// Appends a fixed-width integer's bytes, most significant first, within reserved room.
    @inline(__always)
    mutating func appendReservedBigEndian<T: FixedWidthInteger>(_ number: T) {
        UnsafeMutableRawPointer(start + count).storeBytes(of: number.bigEndian, as: T.self)
        count += MemoryLayout<T>.size
    }

    /// Appends `value` in decimal, with a leading `-` when negative.
    mutating func appendDecimal(_ value: Int64) {
        reserve(20)
        var magnitude = value.magnitude
        var digitCount = 1
        var limit: UInt64 = 10
        while digitCount < 20, magnitude >= limit {
            digitCount += 1
            limit = limit &* 10
        }
        if value < 0 { appendReserved(UInt8(ascii: "-")) }
        var position = count + digitCount - 1
        repeat {
            start[position] = UInt8(ascii: "0") + UInt8(truncatingIfNeeded: magnitude % 10)
            magnitude /= 10
            position -= 1
        } while magnitude > 0
        count += digitCount
    }
}
