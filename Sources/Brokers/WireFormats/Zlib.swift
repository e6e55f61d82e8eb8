@preconcurrency import CZlib
import Synchronization

/// Idle deflate streams, reused across calls by one thread at a time, because
/// initializing a stream allocates and clears about 300 KB, which costs more
/// than compressing a task message. A z_stream contains pointers to itself,
/// so each lives at a fixed heap address, stored here as its bit pattern.
private let idleDeflaters = Mutex<[UInt]>([])

/// The most idle streams the pool stores. A thread that finds none idle makes one.
private let maximumIdleDeflaters = 4

/// zlib streams (RFC 1950), as Python's `zlib.compress` and `zlib.decompress` read and write them.
public enum Zlib {
    /// Returns `input` compressed at zlib's default level, the same bytes
    /// as Python's `zlib.compress(input)` with the same zlib version.
    public static func compress(_ input: [UInt8]) -> [UInt8] {
        input.withUnsafeBufferPointer { compress($0) }
    }

    /// Returns `input` compressed as ``compress(_:)-([UInt8])`` does, for bytes that are not in an array.
    static func compress(_ input: UnsafeBufferPointer<UInt8>) -> [UInt8] {
        let idle = idleDeflaters.withLock { $0.popLast() }
        guard let stream = idle.flatMap({ UnsafeMutablePointer<z_stream>(bitPattern: $0) }) ?? makeDeflater() else {
            return compressOnce(input)
        }
        let output = deflateAll(input, with: stream)
        let returnedToPool = idleDeflaters.withLock { streams -> Bool in
            guard output != nil, streams.count < maximumIdleDeflaters else { return false }
            streams.append(UInt(bitPattern: stream))
            return true
        }
        if !returnedToPool {
            deflateEnd(stream)
            stream.deallocate()
        }
        return output ?? compressOnce(input)
    }

    /// Returns a stream set up as `compress2` sets one up: default level, 15 window bits, memory level 8.
    private static func makeDeflater() -> UnsafeMutablePointer<z_stream>? {
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        let status = deflateInit2_(
            stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, MAX_WBITS, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION,
            Int32(MemoryLayout<z_stream>.size))
        guard status == Z_OK else {
            stream.deallocate()
            return nil
        }
        return stream
    }

    /// Compresses with a reset stream; the output equals `compress2`'s at the same level.
    private static func deflateAll(_ input: UnsafeBufferPointer<UInt8>, with stream: UnsafeMutablePointer<z_stream>) -> [UInt8]? {
        guard deflateReset(stream) == Z_OK else { return nil }
        let bound = Int(deflateBound(stream, uLong(input.count)))
        var status = Z_STREAM_ERROR
        // deflate only reads `next_in`, although zlib declares it non-const,
        // so the input is lent without a copy. The output goes to temporary
        // memory and its `total_out` bytes are copied into an array. That
        // costs less than `[UInt8](unsafeUninitializedCapacity:)`, because
        // it allocates through unspecialized standard library code (measured
        // with callgrind on Swift 6.3.1).
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: bound) { outputBuffer -> [UInt8]? in
            stream.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress)
            stream.pointee.avail_in = uInt(input.count)
            stream.pointee.next_out = outputBuffer.baseAddress
            stream.pointee.avail_out = uInt(outputBuffer.count)
            status = deflate(stream, Z_FINISH)
            guard status == Z_STREAM_END else { return nil }
            return Array(UnsafeBufferPointer(start: outputBuffer.baseAddress, count: Int(stream.pointee.total_out)))
        }
    }

    private static func compressOnce(_ input: UnsafeBufferPointer<UInt8>) -> [UInt8] {
        var outputLength = compressBound(uLong(input.count))
        var output = [UInt8](repeating: 0, count: Int(outputLength))
        let status = output.withUnsafeMutableBufferPointer { target in
            compress2(target.baseAddress, &outputLength, input.baseAddress, uLong(input.count), Z_DEFAULT_COMPRESSION)
        }
        // compress2 fails only when the output buffer is too small or memory
        // runs out, and compressBound rules out the first.
        precondition(status == Z_OK, "compress2 failed with zlib status \(status)")
        output.removeLast(output.count - Int(outputLength))
        return output
    }

    /// Returns the decompressed bytes of one zlib stream.
    /// - Parameter limit: the largest output accepted, in bytes, so that a
    ///   small hostile input cannot fill memory.
    public static func decompress(_ input: [UInt8], limit: Int = 64 << 20) throws(WireFormatError) -> [UInt8] {
        var stream = z_stream()
        guard inflateInit_(&stream, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw WireFormatError(format: "zlib", "inflateInit failed")
        }
        defer { inflateEnd(&stream) }
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        var status: Int32 = Z_OK
        var source = input
        source.withUnsafeMutableBufferPointer { pointer in
            stream.next_in = pointer.baseAddress
            stream.avail_in = uInt(pointer.count)
            while status == Z_OK && output.count <= limit {
                chunk.withUnsafeMutableBufferPointer { target in
                    stream.next_out = target.baseAddress
                    stream.avail_out = uInt(target.count)
                    status = inflate(&stream, Z_NO_FLUSH)
                    output.append(contentsOf: target[0..<(target.count - Int(stream.avail_out))])
                }
                if status == Z_BUF_ERROR && stream.avail_in == 0 { break }
            }
        }
        guard output.count <= limit else {
            throw WireFormatError(format: "zlib", "the output exceeds \(limit) bytes")
        }
        guard status == Z_STREAM_END else {
            let reason = status == Z_BUF_ERROR || status == Z_OK ? "the stream is truncated" : "zlib status \(status)"
            throw WireFormatError(format: "zlib", reason)
        }
        return output
    }
}
