/// A stored message that cannot be decoded, or a value that a wire format cannot carry.
public struct WireFormatError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The format being read or written: `pickle`, `zlib`, `celery message`, ...
    public var format: String
    public var message: String
    /// The byte offset of the problem in the input, when it is known.
    public var offset: Int?

    public init(format: String, _ message: String, offset: Int? = nil) {
        self.format = format
        self.message = message
        self.offset = offset
    }

    public var description: String {
        if let offset { return "Invalid \(format) at byte \(offset): \(message)." }
        return "Invalid \(format): \(message)."
    }
}
