@preconcurrency import CCrypto
import Synchronization

/// Random (version 4) UUIDs as lowercase text, the ids Celery, RQ, Dramatiq
/// and django-q producers put in their messages.
///
/// Foundation's `UUID()` reads the kernel's random source once per id,
/// which costs a file open and close on this platform. This draws the 16
/// bytes of each id from a 4 KiB pool that OpenSSL's `RAND_bytes` (a
/// cryptographically secure generator) refills.
public final class UUIDGenerator: Sendable {
    /// The generator the Redis broker uses by default.
    public static let shared = UUIDGenerator()

    private struct Pool {
        var bytes = [UInt8](repeating: 0, count: 4096)
        var next = 4096
    }

    private let pool = Mutex(Pool())

    public init() {}

    /// Returns a new id in the 8-4-4-4-12 form, as `str(uuid.uuid4())` writes it.
    public func string() -> String {
        format(dashes: true)
    }

    /// Returns a new id as 32 hex digits without dashes, as `uuid.uuid4().hex` writes it.
    public func hex() -> String {
        format(dashes: false)
    }

    private func format(dashes: Bool) -> String {
        var raw: (UInt64, UInt64) = (0, 0)
        withUnsafeMutableBytes(of: &raw) { fill($0) }
        return withUnsafeBytes(of: &raw) { source in
            String(unsafeUninitializedCapacity: 36) { text in
                let digits: StaticString = "0123456789abcdef"
                var offset = 0
                for index in 0..<16 {
                    if dashes && (index == 4 || index == 6 || index == 8 || index == 10) {
                        text[offset] = UInt8(ascii: "-")
                        offset += 1
                    }
                    var byte = source[index]
                    // RFC 9562: the version nibble is 4, the variant bits are 10.
                    if index == 6 { byte = (byte & 0x0F) | 0x40 }
                    if index == 8 { byte = (byte & 0x3F) | 0x80 }
                    text[offset] = digits.utf8Start[Int(byte >> 4)]
                    text[offset + 1] = digits.utf8Start[Int(byte & 0x0F)]
                    offset += 2
                }
                return offset
            }
        }
    }

    /// Copies 16 fresh random bytes into `target`.
    private func fill(_ target: UnsafeMutableRawBufferPointer) {
        pool.withLock { pool in
            if pool.next + target.count > pool.bytes.count {
                refill(&pool.bytes)
                pool.next = 0
            }
            pool.bytes.withUnsafeBytes { source in
                target.copyMemory(from: UnsafeRawBufferPointer(rebasing: source[pool.next..<(pool.next + target.count)]))
            }
            // Used bytes are overwritten so they do not linger in memory.
            for index in pool.next..<(pool.next + target.count) { pool.bytes[index] = 0 }
            pool.next += target.count
        }
    }

    private func refill(_ bytes: inout [UInt8]) {
        let status = bytes.withUnsafeMutableBytes { buffer in
            RAND_bytes(buffer.baseAddress!.assumingMemoryBound(to: UInt8.self), Int32(buffer.count))
        }
        guard status != 1 else { return }
        // OpenSSL could not seed itself; the system generator reads the kernel's source directly.
        var system = SystemRandomNumberGenerator()
        bytes.withUnsafeMutableBytes { buffer in
            for offset in stride(from: 0, to: buffer.count, by: 8) {
                buffer.storeBytes(of: system.next(), toByteOffset: offset, as: UInt64.self)
            }
        }
    }
}
