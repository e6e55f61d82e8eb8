/// A Redis operation that failed.
///
/// Messages name the server by its URL with the password replaced by `***`,
/// so they are safe to log and to show.
public struct RedisError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        /// The URL is not a valid `redis://` URL.
        case invalidURL = "invalid_url"
        /// No connection could be made (refused, unreachable, timed out), or
        /// the connection is waiting out its reconnect backoff.
        case connectionFailed = "connection_failed"
        /// The connection broke or timed out during a command; whether the
        /// server ran the command is unknown.
        case connectionLost = "connection_lost"
        /// AUTH was rejected, or the server needs a password the URL lacks.
        case authenticationFailed = "authentication_failed"
        /// SELECT was rejected: the database index is out of the server's range.
        case invalidDatabase = "invalid_database"
        /// The server replied to a command with an error.
        case serverError = "server_error"
        /// The server sent a reply of an unexpected shape.
        case unexpectedReply = "unexpected_reply"
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }

    /// Whether the server could not be reached, as opposed to having replied with an error.
    public var isUnavailable: Bool { kind == .connectionFailed || kind == .connectionLost }

    /// The same failure as a broker error: unreachable servers are
    /// `unavailable`, malformed replies `undecodable`, everything else `rejected`.
    public var brokerError: BrokerError {
        switch kind {
        case .connectionFailed, .connectionLost: return BrokerError(.unavailable, message)
        case .unexpectedReply: return BrokerError(.undecodable, message)
        case .invalidURL, .authenticationFailed, .invalidDatabase, .serverError: return BrokerError(.rejected, message)
        }
    }
}
