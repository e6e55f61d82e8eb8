/// One Redis command as its binary-safe arguments, the name first.
///
/// A command is kept either as its arguments or, when an encoder builds it
/// in that form (``init(encoded:)``), as the RESP bytes Redis reads. The
/// second form skips one array per argument and the formatting at send
/// time. ``arguments`` reads such a command back from its bytes.
public struct RedisCommand: Sendable, Equatable, CustomStringConvertible {
    private enum Storage: Sendable {
        case arguments([[UInt8]])
        case encoded([UInt8])
    }

    private var storage: Storage

    public init(arguments: [[UInt8]]) {
        precondition(!arguments.isEmpty, "a Redis command needs at least its name")
        storage = .arguments(arguments)
    }

    public init(_ name: String, _ arguments: any RedisArgument...) {
        self.init(arguments: [Array(name.utf8)] + arguments.map(\.redisBytes))
    }

    public init(_ name: String, _ arguments: [any RedisArgument]) {
        self.init(arguments: [Array(name.utf8)] + arguments.map(\.redisBytes))
    }

    /// Creates a command from its RESP encoding: an array of bulk strings, the name first.
    /// Debug builds check the encoding; release builds trust the caller.
    init(encoded: [UInt8]) {
        assert(Self.decode(encoded)?.isEmpty == false, "not a RESP array of bulk strings")
        storage = .encoded(encoded)
    }

    /// The arguments, the name first.
    public var arguments: [[UInt8]] {
        get {
            switch storage {
            case .arguments(let arguments): return arguments
            case .encoded(let bytes): return Self.decode(bytes) ?? []
            }
        }
        set {
            precondition(!newValue.isEmpty, "a Redis command needs at least its name")
            storage = .arguments(newValue)
        }
    }

    /// The command name in upper case, for error messages.
    public var name: String { String(decoding: arguments[0], as: UTF8.self).uppercased() }

    /// The command with its arguments as text where they are printable, for test failures and logs.
    ///
    /// - Important: arguments can hold secrets (AUTH) and payloads; never log the description of an AUTH command.
    public var description: String {
        arguments.map { argument in
            if let text = String(validating: argument, as: UTF8.self), text.unicodeScalars.allSatisfy({ $0.value >= 0x20 }) {
                return text
            }
            return "<\(argument.count) bytes>"
        }.joined(separator: " ")
    }

    public static func == (left: RedisCommand, right: RedisCommand) -> Bool {
        left.arguments == right.arguments
    }

    /// Appends the command's RESP encoding (what `redisFormatCommandArgv` writes) to `buffer`.
    func appendEncoded(to buffer: inout [UInt8]) {
        switch storage {
        case .encoded(let bytes):
            buffer.append(contentsOf: bytes)
        case .arguments(let arguments):
            RESPEncoding.appendArrayHeader(arguments.count, to: &buffer)
            for argument in arguments {
                RESPEncoding.appendBulkString(argument, to: &buffer)
            }
        }
    }

    /// An upper bound of the size of ``appendEncoded(to:)``'s output, to reserve a buffer.
    var encodedSizeLimit: Int {
        switch storage {
        case .encoded(let bytes): return bytes.count
        case .arguments(let arguments): return arguments.reduce(16) { $0 + $1.count + 24 }
        }
    }

    /// Reads the arguments back from a RESP array of bulk strings; nil when the bytes are not one.
    private static func decode(_ bytes: [UInt8]) -> [[UInt8]]? {
        var position = 0
        func readLength(after marker: UInt8) -> Int? {
            guard position < bytes.count, bytes[position] == marker else { return nil }
            position += 1
            var value = 0
            while position < bytes.count, bytes[position] != 0x0D {
                let digit = Int(bytes[position]) - Int(UInt8(ascii: "0"))
                guard (0...9).contains(digit) else { return nil }
                value = value * 10 + digit
                position += 1
            }
            guard position + 1 < bytes.count, bytes[position + 1] == 0x0A else { return nil }
            position += 2
            return value
        }
        guard let count = readLength(after: UInt8(ascii: "*")) else { return nil }
        var arguments: [[UInt8]] = []
        arguments.reserveCapacity(count)
        for _ in 0..<count {
            guard let length = readLength(after: UInt8(ascii: "$")), position + length + 2 <= bytes.count else { return nil }
            arguments.append(Array(bytes[position..<(position + length)]))
            position += length + 2
        }
        return position == bytes.count ? arguments : nil
    }
}

/// RESP, the form in which Redis reads a command: an array header, then each argument as a bulk string.
enum RESPEncoding {
    /// Appends `*count` and CRLF.
    static func appendArrayHeader(_ count: Int, to buffer: inout [UInt8]) {
        appendHeader(UInt8(ascii: "*"), count, to: &buffer)
    }

    /// Appends one argument as a bulk string: `$length`, CRLF, the bytes, CRLF.
    static func appendBulkString(_ argument: [UInt8], to buffer: inout [UInt8]) {
        appendHeader(UInt8(ascii: "$"), argument.count, to: &buffer)
        buffer.append(contentsOf: argument)
        buffer.append(0x0D)
        buffer.append(0x0A)
    }

    /// Returns arguments as consecutive bulk strings, to build the constant runs of a command once.
    static func bulkStrings(_ arguments: [[UInt8]]) -> [UInt8] {
        var buffer: [UInt8] = []
        for argument in arguments {
            appendBulkString(argument, to: &buffer)
        }
        return buffer
    }

    /// Appends `marker`, `count` in decimal, and CRLF.
    private static func appendHeader(_ marker: UInt8, _ count: Int, to buffer: inout [UInt8]) {
        buffer.append(marker)
        var divisor = 1
        while divisor <= count / 10 {
            divisor *= 10
        }
        while divisor > 0 {
            buffer.append(UInt8(ascii: "0") + UInt8(count / divisor % 10))
            divisor /= 10
        }
        buffer.append(0x0D)
        buffer.append(0x0A)
    }
}

/// Writes RESP into memory that the caller sized beforehand, so that no
/// write checks for room.
struct RESPWriter {
    private var position: UnsafeMutablePointer<UInt8>

    init(_ start: UnsafeMutablePointer<UInt8>) {
        position = start
    }

    /// Returns the number of bytes written since `start`.
    func count(from start: UnsafeMutablePointer<UInt8>) -> Int { position - start }

    /// Appends `$length` and CRLF, the header of a bulk string.
    mutating func appendBulkStringHeader(_ length: Int) {
        position.pointee = UInt8(ascii: "$")
        position += 1
        var divisor = 1
        while divisor <= length / 10 {
            divisor *= 10
        }
        while divisor > 0 {
            position.pointee = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: length / divisor % 10)
            position += 1
            divisor /= 10
        }
        appendCRLF()
    }

    mutating func appendCRLF() {
        position[0] = 0x0D
        position[1] = 0x0A
        position += 2
    }

    mutating func append(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard let source = bytes.baseAddress else { return }
        position.initialize(from: source, count: bytes.count)
        position += bytes.count
    }

    mutating func append(_ bytes: [UInt8]) {
        bytes.withUnsafeBufferPointer { append($0) }
    }

    mutating func append(_ text: String) {
        if text.utf8.withContiguousStorageIfAvailable({ append($0) }) == nil {
            append(Array(text.utf8))
        }
    }
}

/// A value that can be sent as one Redis command argument.
public protocol RedisArgument: Sendable {
    var redisBytes: [UInt8] { get }
}

extension String: RedisArgument {
    public var redisBytes: [UInt8] { Array(utf8) }
}

extension Substring: RedisArgument {
    public var redisBytes: [UInt8] { Array(utf8) }
}

extension Array: RedisArgument where Element == UInt8 {
    public var redisBytes: [UInt8] { self }
}

extension Int: RedisArgument {
    public var redisBytes: [UInt8] { Array(String(self).utf8) }
}

extension Int64: RedisArgument {
    public var redisBytes: [UInt8] { Array(String(self).utf8) }
}

extension Double: RedisArgument {
    /// The shortest text that reads back as the same double, which Redis accepts for scores.
    public var redisBytes: [UInt8] { Array(description.utf8) }
}
