@preconcurrency import CHiredis

/// A Redis reply in RESP2 terms, copied out of hiredis's reply object.
public indirect enum RedisReply: Sendable, Equatable {
    case status(String)
    case error(String)
    case integer(Int64)
    case bulk([UInt8])
    case null
    case array([RedisReply])

    /// Copies a hiredis reply tree; the caller still frees the original.
    init(_ reply: UnsafePointer<redisReply>) {
        let value = reply.pointee
        switch value.type {
        case REDIS_REPLY_STATUS: self = .status(Self.text(value))
        case REDIS_REPLY_ERROR: self = .error(Self.text(value))
        case REDIS_REPLY_INTEGER: self = .integer(value.integer)
        case REDIS_REPLY_STRING: self = .bulk(Self.bytes(value))
        case REDIS_REPLY_ARRAY:
            var items: [RedisReply] = []
            items.reserveCapacity(value.elements)
            for index in 0..<value.elements {
                if let element = value.element[index] {
                    items.append(RedisReply(element))
                } else {
                    items.append(.null)
                }
            }
            self = .array(items)
        default: self = .null
        }
    }

    private static func bytes(_ value: redisReply) -> [UInt8] {
        guard let pointer = value.str, value.len > 0 else { return [] }
        return pointer.withMemoryRebound(to: UInt8.self, capacity: value.len) {
            Array(UnsafeBufferPointer(start: $0, count: value.len))
        }
    }

    private static func text(_ value: redisReply) -> String {
        String(decoding: bytes(value), as: UTF8.self)
    }

    // MARK: - Accessors

    public var integerValue: Int64? {
        if case .integer(let number) = self { return number }
        return nil
    }

    /// The bytes of a bulk string or the text of a status reply.
    public var bytesValue: [UInt8]? {
        switch self {
        case .bulk(let data): return data
        case .status(let text): return Array(text.utf8)
        default: return nil
        }
    }

    /// The bulk string or status as UTF-8 text (invalid sequences replaced).
    public var stringValue: String? {
        bytesValue.map { String(decoding: $0, as: UTF8.self) }
    }

    public var arrayValue: [RedisReply]? {
        if case .array(let items) = self { return items }
        return nil
    }

    public var errorMessage: String? {
        if case .error(let message) = self { return message }
        return nil
    }

    public var isNull: Bool { self == .null }
}
