import Engine

/// Bounded, safe previews of values for list rows and detail views.
///
/// List rows never contain more than a preview, so a huge payload costs no
/// more to draw than a small one. A detail view shows the full value on
/// demand. Text is escaped, so control characters in data cannot reach
/// the terminal.
public enum ValuePreview {
    /// The limit, in characters, of previews in detail views.
    public static let detailLimit = 240

    /// Formats a JSON value in compact form, cut to `limit` characters.
    public static func json(_ value: JSONValue, limit: Int?) -> String {
        if case .string(let text) = value { return bounded(text, limit: limit) }
        return bounded(JSONWriter.string(value), limit: limit)
    }

    /// Formats a rule-argument or option object in compact form.
    public static func object(_ object: JSONObject, limit: Int?) -> String {
        bounded(JSONWriter.string(.object(object)), limit: limit)
    }

    /// Formats a stored payload. JSON is shown as JSON, and with `decode` a
    /// zlib stream or a pickle as what it contains (see ``taskPayload(_:limit:)``).
    /// Anything else is shown as text or hex, with its type and size, never
    /// as raw bytes. A list of many payloads decodes only the selected one,
    /// because unpacking costs more than a frame should.
    public static func payload(_ bytes: [UInt8], limit: Int?, decode: Bool = true) -> String {
        let size = "\(bytes.count) bytes"
        if let text = String(validating: bytes, as: UTF8.self) {
            if let value = try? JSONParser.parse(text) {
                return "JSON, \(size): " + json(value, limit: limit)
            }
            return "text (not JSON), \(size): " + JSONWriter.string(.string(bounded(text, limit: limit)))
        }
        if decode, let decoded = taskPayload(bytes, limit: limit) {
            return decoded
        }
        let shown = limit.map { bytes.prefix(max(1, $0 / 3)) } ?? bytes[...]
        let hex = shown.map { byte in
            let digits = String(byte, radix: 16)
            return byte < 16 ? "0" + digits : digits
        }.joined(separator: " ")
        return "binary (not JSON), \(size): " + hex + (shown.count < bytes.count ? " …" : "")
    }

    /// `text` with control characters escaped and cut to `limit` characters.
    public static func bounded(_ text: String, limit: Int?) -> String {
        var result = ""
        var count = 0
        for character in text {
            if let limit, count >= limit {
                result += "…"
                break
            }
            if let ascii = character.asciiValue, ascii < 0x20 || ascii == 0x7F {
                switch ascii {
                case 0x0A: result += "\\n"
                case 0x09: result += "\\t"
                default: result += "\\u{\(String(ascii, radix: 16))}"
                }
            } else {
                result.append(character)
            }
            count += 1
        }
        return result
    }
}
