@preconcurrency import CCrypto

/// SHA-256 fetched from OpenSSL's default provider once; an `EVP_MD` is
/// immutable and may be used from many threads. Nil when the fetch fails,
/// in which case the built-in `EVP_sha256()` is used.
nonisolated(unsafe) private let sha256Algorithm: OpaquePointer? = EVP_MD_fetch(nil, "SHA256", nil)

/// Django's `TimestampSigner` with SHA-256, as django-q2 signs its task packages.
///
/// A signed value is `value:timestamp:signature`. The timestamp is whole
/// Unix seconds in base 62; the signature is the URL-safe base64 (no
/// padding) of HMAC-SHA256 over `value:timestamp`, keyed with
/// SHA256(salt + "signer" + secret), which is Django's `salted_hmac`.
public struct DjangoSigner: Sendable {
    public var secret: String
    public var salt: String

    public init(secret: String, salt: String) {
        self.secret = secret
        self.salt = salt
    }

    /// Returns `value:timestamp:signature` for `value` at `secondsSinceEpoch`.
    public func sign(_ value: String, secondsSinceEpoch: Int64) -> String {
        let stamped = value + ":" + Base62.encode(secondsSinceEpoch)
        return stamped + ":" + signature(of: stamped)
    }

    /// Returns the value and timestamp of a signed string whose signature is valid.
    /// - Throws: ``WireFormatError`` when the signature is missing or does not match.
    public func unsign(_ signed: String) throws(WireFormatError) -> (value: String, secondsSinceEpoch: Int64) {
        guard let signatureStart = signed.lastIndex(of: ":") else {
            throw WireFormatError(format: "signed package", "no signature separator")
        }
        let stamped = String(signed[..<signatureStart])
        let given = signed[signed.index(after: signatureStart)...]
        guard constantTimeEqual(Array(given.utf8), Array(signature(of: stamped).utf8)) else {
            throw WireFormatError(format: "signed package", "the signature does not match the secret key and salt")
        }
        guard let timeStart = stamped.lastIndex(of: ":"),
            let seconds = Base62.decode(stamped[stamped.index(after: timeStart)...])
        else {
            throw WireFormatError(format: "signed package", "no valid base62 timestamp")
        }
        return (String(stamped[..<timeStart]), seconds)
    }

    /// The URL-safe base64 HMAC of `value`.
    public func signature(of value: String) -> String {
        let key = Self.sha256(Array((salt + "signer" + secret).utf8))
        return Base64Text.encodeURLSafe(Self.hmacSHA256(key: key, message: Array(value.utf8)))
    }

    static func sha256(_ data: [UInt8]) -> [UInt8] {
        digest(data)
    }

    /// HMAC-SHA256 (RFC 2104) over OpenSSL's digest: SHA256((K ^ opad) ||
    /// SHA256((K ^ ipad) || message)), with K zero-padded to the 64-byte block.
    /// OpenSSL 3's one-shot `HMAC()` looks the algorithm up on every call,
    /// which cost more than the hashing for task-sized messages.
    static func hmacSHA256(key: [UInt8], message: [UInt8]) -> [UInt8] {
        let blockKey = key.count > 64 ? digest(key) : key
        var innerPad = [UInt8](repeating: 0x36, count: 64)
        var outerPad = [UInt8](repeating: 0x5C, count: 64)
        for (index, byte) in blockKey.enumerated() {
            innerPad[index] ^= byte
            outerPad[index] ^= byte
        }
        return digest(outerPad, digest(innerPad, message))
    }

    /// SHA-256 of the concatenated parts.
    private static func digest(_ parts: [UInt8]...) -> [UInt8] {
        guard let context = EVP_MD_CTX_new() else { preconditionFailure("OpenSSL could not allocate a digest context") }
        defer { EVP_MD_CTX_free(context) }
        var output = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        var status = EVP_DigestInit_ex(context, sha256Algorithm ?? EVP_sha256(), nil)
        for part in parts {
            status &= part.withUnsafeBytes { EVP_DigestUpdate(context, $0.baseAddress, $0.count) }
        }
        status &= output.withUnsafeMutableBufferPointer { EVP_DigestFinal_ex(context, $0.baseAddress, &length) }
        precondition(status == 1, "OpenSSL SHA-256 failed")
        return Array(output[0..<Int(length)])
    }

    private func constantTimeEqual(_ left: [UInt8], _ right: [UInt8]) -> Bool {
        guard left.count == right.count else { return false }
        var difference: UInt8 = 0
        for (a, b) in zip(left, right) { difference |= a ^ b }
        return difference == 0
    }
}

/// Base 62 with the alphabet `0-9A-Za-z`, most significant digit first, as Django's signer uses.
public enum Base62 {
    private static let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8)

    public static func encode(_ number: Int64) -> String {
        if number == 0 { return "0" }
        var magnitude = number.magnitude
        var digits: [UInt8] = []
        while magnitude > 0 {
            digits.append(alphabet[Int(magnitude % 62)])
            magnitude /= 62
        }
        return (number < 0 ? "-" : "") + String(decoding: digits.reversed(), as: UTF8.self)
    }

    public static func decode(_ text: some StringProtocol) -> Int64? {
        var utf8 = Substring(text).utf8[...]
        let negative = utf8.first == UInt8(ascii: "-")
        if negative { utf8 = utf8.dropFirst() }
        guard !utf8.isEmpty else { return nil }
        var value: Int64 = 0
        for byte in utf8 {
            guard let digit = alphabet.firstIndex(of: byte) else { return nil }
            let (shifted, overflow) = value.multipliedReportingOverflow(by: 62)
            guard !overflow else { return nil }
            value = shifted + Int64(digit)
        }
        return negative ? -value : value
    }
}
