/// Reads typed values out of a parsed JSON document, producing
/// ``ConfigurationError``s that carry the document path, the file and the line.
struct ConfigReader {
    let file: String?
    let locations: [String: Int]

    func error(_ path: String, _ message: String, fix: String? = nil) -> ConfigurationError {
        ConfigurationError(path: path, message: message, fix: fix, file: file, line: line(of: path))
    }

    /// The line of `path`, or of its nearest ancestor that has one.
    func line(of path: String) -> Int? {
        var current = path
        while true {
            if let line = locations[current] { return line }
            guard let cut = current.lastIndex(where: { $0 == "." || $0 == "[" }) else {
                return locations[""]
            }
            current = String(current[..<cut])
        }
    }

    func object(_ value: JSONValue, at path: String) throws(ConfigurationError) -> JSONObject {
        guard let object = value.objectValue else {
            throw error(path, "expected an object, got \(render(value))")
        }
        return object
    }

    /// Rejects members not in `allowed`, suggesting the closest allowed name.
    func rejectUnknownKeys(_ object: JSONObject, allowed: [String], at path: String) throws(ConfigurationError) {
        for key in object.keys where !allowed.contains(key) {
            let memberPath = join(path, key)
            if let suggestion = NameSuggestion.closest(to: key, in: allowed) {
                throw error(memberPath, "unknown key '\(key)'", fix: "Did you mean '\(suggestion)'?")
            }
            throw error(memberPath, "unknown key '\(key)'", fix: "Allowed keys: \(allowed.joined(separator: ", "))")
        }
    }

    func string(_ value: JSONValue, at path: String) throws(ConfigurationError) -> String {
        guard let text = value.stringValue else {
            throw error(path, "expected a string, got \(render(value))")
        }
        return text
    }

    func nonEmptyString(_ value: JSONValue, at path: String) throws(ConfigurationError) -> String {
        let text = try string(value, at: path)
        if text.allSatisfy(\.isWhitespace) {
            throw error(path, "expected a non-empty string, got \"\"")
        }
        return text
    }

    func bool(_ value: JSONValue, at path: String) throws(ConfigurationError) -> Bool {
        guard let flag = value.boolValue else {
            throw error(path, "expected true or false, got \(render(value))")
        }
        return flag
    }

    func optionalBool(_ value: JSONValue, at path: String) throws(ConfigurationError) -> Bool? {
        if value.isNull { return nil }
        guard let flag = value.boolValue else {
            throw error(path, "expected true, false or null, got \(render(value))")
        }
        return flag
    }

    func integer(_ value: JSONValue, at path: String) throws(ConfigurationError) -> Int {
        guard case .int(let number) = value else {
            throw error(path, "expected an integer, got \(render(value))")
        }
        return Int(number)
    }

    func stringList(_ value: JSONValue, at path: String) throws(ConfigurationError) -> [String] {
        guard let items = value.arrayValue else {
            throw error(path, "expected a list of strings, got \(render(value))")
        }
        var strings: [String] = []
        for (index, item) in items.enumerated() {
            guard let text = item.stringValue else {
                throw error("\(path)[\(index)]", "expected a string, got \(render(item))")
            }
            strings.append(text)
        }
        return strings
    }

    func join(_ path: String, _ key: String) -> String {
        path.isEmpty ? key : "\(path).\(key)"
    }

    /// Shows a value in a message: short values whole, long ones cut.
    func render(_ value: JSONValue) -> String {
        let text = JSONWriter.string(value)
        return text.count > 60 ? String(text.prefix(57)) + "..." : text
    }
}
