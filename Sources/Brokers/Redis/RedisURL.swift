/// A parsed `redis://[user:password@]host[:port][/db]` URL.
///
/// The port defaults to 6379 and the database to 0. User and password may
/// be percent-encoded. TLS (`rediss://`), Unix sockets and query options
/// are not supported, and parsing rejects them with an error naming the cause.
public struct RedisURL: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var database: Int
    public var user: String?
    public var password: String?

    public init(host: String, port: Int = 6379, database: Int = 0, user: String? = nil, password: String? = nil) {
        self.host = host
        self.port = port
        self.database = database
        self.user = user
        self.password = password
    }

    /// Parses `text`.
    /// - Throws: ``RedisError`` of kind `invalidURL`, naming the URL without its password.
    public init(parsing text: String) throws(RedisError) {
        let shown = Self.redacted(text)
        func invalid(_ reason: String, _ fix: String) -> RedisError {
            RedisError(.invalidURL, "Invalid Redis URL '\(shown)': \(reason). \(fix)")
        }
        let expected = "Use redis://[user:password@]host:port/db."
        guard let schemeEnd = text.range(of: "://") else { throw invalid("it has no scheme", expected) }
        let scheme = text[..<schemeEnd.lowerBound].lowercased()
        guard scheme == "redis" else {
            let fix = scheme == "rediss" ? "TLS is not supported; use a redis:// URL on a trusted network." : expected
            throw invalid("the scheme '\(scheme)' is not redis", fix)
        }
        var rest = text[schemeEnd.upperBound...]
        if rest.contains("?") || rest.contains("#") {
            throw invalid("query options and fragments are not supported", "Remove everything from '?' or '#' on.")
        }
        var database = 0
        if let slash = rest.firstIndex(of: "/") {
            let path = rest[rest.index(after: slash)...]
            rest = rest[..<slash]
            if !path.isEmpty {
                guard let number = Int(path), number >= 0 else {
                    throw invalid("the database '\(path)' is not a non-negative integer", expected)
                }
                database = number
            }
        }
        var user: String?
        var password: String?
        if let at = rest.lastIndex(of: "@") {
            let userInfo = rest[..<at]
            rest = rest[rest.index(after: at)...]
            let parts = userInfo.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2 else {
                // A lone part could be meant as a user or as a password, so it is rejected, not guessed.
                throw invalid(
                    "the part before '@' has no ':'",
                    "Write redis://:password@host:port/db for a password alone, or redis://user:password@host:port/db.")
            }
            guard let decodedUser = Self.percentDecoded(parts[0]), let decodedPassword = Self.percentDecoded(parts[1])
            else {
                throw invalid("the user or password has an invalid percent escape", "Encode '%' as '%25'.")
            }
            user = decodedUser.isEmpty ? nil : decodedUser
            password = decodedPassword
        }
        let (host, port) = try Self.hostAndPort(rest, invalid: { invalid($0, expected) })
        self.init(host: host, port: port, database: database, user: user, password: password)
    }

    private static func hostAndPort(
        _ authority: Substring, invalid: (String) -> RedisError
    ) throws(RedisError) -> (String, Int) {
        var host = authority
        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { throw invalid("the IPv6 address has no ']'") }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if after.hasPrefix(":") { portText = after.dropFirst() } else if !after.isEmpty {
                throw invalid("unexpected text after the IPv6 address")
            }
        } else if let colon = authority.lastIndex(of: ":") {
            host = authority[..<colon]
            portText = authority[authority.index(after: colon)...]
        }
        guard !host.isEmpty else { throw invalid("the host is empty") }
        var port = 6379
        if let portText {
            guard let number = Int(portText), (1...65535).contains(number) else {
                throw invalid("the port '\(portText)' is not a number from 1 to 65535")
            }
            port = number
        }
        return (String(host), port)
    }

    /// The URL with the password replaced by `***`, safe for logs and the console header.
    /// Whether the host is this machine: `localhost` or a loopback address
    /// (127.0.0.0/8, `::1`). Other names that resolve to it do not count.
    public var isLoopback: Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }

    public var description: String {
        var userInfo = ""
        if let password {
            userInfo = "\(user ?? ""):\(password.isEmpty ? "" : "***")@"
        } else if let user {
            userInfo = "\(user)@"
        }
        let shownHost = host.contains(":") ? "[\(host)]" : host
        return "redis://\(userInfo)\(shownHost):\(port)/\(database)"
    }

    /// Replaces the password in URL-like text with `***`, for error messages about text that did not parse.
    public static func redacted(_ text: String) -> String {
        guard let schemeEnd = text.range(of: "://") else { return text }
        let afterScheme = text[schemeEnd.upperBound...]
        let authorityEnd = afterScheme.firstIndex(of: "/") ?? afterScheme.endIndex
        guard let at = afterScheme[..<authorityEnd].lastIndex(of: "@") else { return text }
        let userInfo = afterScheme[..<at]
        guard let colon = userInfo.firstIndex(of: ":") else {
            // A lone part before '@' may be a password, so it is hidden too.
            return String(text[..<schemeEnd.upperBound]) + "***" + String(afterScheme[at...])
        }
        return String(text[..<afterScheme.index(after: colon)]) + "***" + String(afterScheme[at...])
    }

    private static func percentDecoded(_ text: Substring) -> String? {
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8).makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else {
                return nil
            }
            bytes.append(high << 4 | low)
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
