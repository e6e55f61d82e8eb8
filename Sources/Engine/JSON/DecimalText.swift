/// Writes integers as decimal ASCII without building a `String`, for the
/// hot paths that format numbers into byte buffers (cache keys, JSON Lines).
enum DecimalText {
    /// Writes `value` at the start of `buffer` (at least 20 bytes) and returns the written bytes.
    static func write(_ value: Int64, into buffer: UnsafeMutableRawBufferPointer) -> UnsafeRawBufferPointer {
        precondition(buffer.count >= 20, "an Int64 needs up to 20 bytes")
        var magnitude = value.magnitude
        var end = buffer.count
        repeat {
            end -= 1
            buffer[end] = UInt8(ascii: "0") + UInt8(magnitude % 10)
            magnitude /= 10
        } while magnitude > 0
        if value < 0 {
            end -= 1
            buffer[end] = UInt8(ascii: "-")
        }
        return UnsafeRawBufferPointer(rebasing: buffer[end...])
    }

    /// Appends `value` in decimal to `output`.
    static func append(_ value: Int64, to output: inout [UInt8]) {
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)
        withUnsafeMutableBytes(of: &digits) { scratch in
            output.append(contentsOf: write(value, into: scratch))
        }
    }
}
