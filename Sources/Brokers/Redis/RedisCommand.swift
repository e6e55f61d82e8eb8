/// One Redis command as its binary-safe arguments, the name first.
public struct RedisCommand: Sendable, Equatable, CustomStringConvertible {
    public var arguments: [[UInt8]]

    public init(arguments: [[UInt8]]) {
        precondition(!arguments.isEmpty, "a Redis command needs at least its name")
        self.arguments = arguments
    }

    public init(_ name: String, _ arguments: any RedisArgument...) {
        self.init(arguments: [Array(name.utf8)] + arguments.map(\.redisBytes))
    }

    public init(_ name: String, _ arguments: [any RedisArgument]) {
        self.init(arguments: [Array(name.utf8)] + arguments.map(\.redisBytes))
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
