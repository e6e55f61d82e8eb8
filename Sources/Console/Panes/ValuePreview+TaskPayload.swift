import Brokers
import Engine

extension ValuePreview {
    /// The maximum size in bytes that a zlib payload may unpack to for a
    /// preview, so a small hostile payload cannot fill memory.
    static let unpackLimit = 1 << 20

    /// Describes a payload that a task broker stores in binary form: a zlib
    /// stream, a pickle, or a pickle inside a zlib stream (an RQ job's
    /// `data`). A pickled `(function, instance, args, kwargs)` tuple, the
    /// call RQ stores, is shown as that Python call.
    /// - Returns: nil when `bytes` are not in one of these forms, or cannot be decoded.
    static func taskPayload(_ bytes: [UInt8], limit: Int?) -> String? {
        var inner = bytes
        var layers: [String] = []
        // 0x78 is the first byte of a zlib stream with the usual 32 KB window
        // (RFC 1950: deflate with a window of 2^15 bytes).
        if bytes.first == 0x78, let unpacked = try? Zlib.decompress(bytes, limit: unpackLimit) {
            inner = unpacked
            layers.append("zlib")
        }
        let size = layers.isEmpty ? "\(bytes.count) bytes" : "\(bytes.count) bytes, \(inner.count) unpacked"
        // 0x80 is pickle's PROTO opcode, which starts every pickle since protocol 2.
        if inner.first == 0x80, let value = try? PickleDecoder.decode(inner), let text = pythonText(value) {
            return (layers + ["pickle"]).joined(separator: " of ") + ", \(size): " + bounded(text, limit: limit)
        }
        guard !layers.isEmpty, let text = String(validating: inner, as: UTF8.self) else { return nil }
        if let value = try? JSONParser.parse(text) {
            return "zlib of JSON, \(size): " + json(value, limit: limit)
        }
        return "zlib of text, \(size): " + JSONWriter.string(.string(bounded(text, limit: limit)))
    }

    /// Returns a pickled value as Python would print it, and an RQ call tuple as the call.
    private static func pythonText(_ value: PickleValue) -> String? {
        if let parts = value.items, parts.count == 4, let function = parts[0].stringValue,
            case .array(let args)? = try? parts[2].json(), case .object(let kwargs)? = try? parts[3].json()
        {
            return PythonRepr.call(function, args: args, kwargs: kwargs)
        }
        return (try? value.json()).map(PythonRepr.string)
    }
}
