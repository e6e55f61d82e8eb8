/// How a cached function's keys are laid out, following restflow's key constructor.
///
/// A key is `[namespace::]identifier::[partition::]rest`, where the partition
/// part is one `name:value` piece per partition argument, ordered by argument
/// name and joined by `::`. Each partition argument stands for a restflow
/// `ArgsKeyField` of the same name with `partition=True`.
public struct CacheKeyLayout: Sendable, Equatable {
    public var namespace: String
    /// restflow's key constructor version, which is also Django's cache version.
    public var version: Int
    /// Partition argument names, in declaration order.
    public var partition: [String]
    /// The `key_identifier` override; the function name when nil.
    public var identifier: String?

    public init(namespace: String = "", version: Int = 1, partition: [String] = [], identifier: String? = nil) {
        self.namespace = namespace
        self.version = version
        self.partition = partition
        self.identifier = identifier
    }

    /// The restflow key prefix that `delete_by_prefix` would drop for these arguments.
    ///
    /// An argument present in `arguments` (even as null) contributes
    /// `name:value`; an absent one contributes an empty piece, and trailing
    /// separators are stripped as restflow strips them.
    public func prefix(function: String, arguments: JSONObject) -> String {
        let scope = scope(arguments: arguments)
        return scope.isEmpty ? head(function: function) : head(function: function) + scope + "::"
    }

    /// The part of every key before the partition: `[namespace::]identifier::`.
    public func head(function: String) -> String {
        let name = identifier ?? function
        return namespace.isEmpty ? name + "::" : namespace + "::" + name + "::"
    }

    /// The partition part of a prefix, without its trailing `::`; empty when
    /// no partition argument is present.
    public func scope(arguments: JSONObject) -> String {
        // Each argument's piece is followed by "::" and trailing separators
        // are stripped; writing a separator only when a piece follows it
        // gives the same text without appending and removing them.
        var scope = ""
        var separators = 0
        for name in partition.count > 1 ? partition.sorted() : partition {
            if let value = arguments[name] {
                for _ in 0..<separators { scope += "::" }
                separators = 0
                scope += name
                scope += ":"
                scope += RestflowKeyText.string(value)
            }
            separators += 1
        }
        // A value's own text may end in "::"; it is stripped as well.
        while scope.hasSuffix("::") {
            scope.removeLast(2)
        }
        return scope
    }

    /// The full key of one entry: the prefix followed by the non-partition
    /// arguments (`name:value` sorted by name, joined by `::`).
    public func key(function: String, arguments: JSONObject) -> String {
        var rest: [String] = []
        for member in arguments.sortedByKey() where !partition.contains(member.key) {
            rest.append("\(member.key):\(RestflowKeyText.string(member.value))")
        }
        return prefix(function: function, arguments: arguments) + rest.joined(separator: "::")
    }
}

/// Django's default cache key function: `KEY_PREFIX:version:key`.
public enum DjangoCacheKey {
    public static func make(prefix: String, version: Int, key: String) -> String {
        "\(prefix):\(version):\(key)"
    }
}

/// How restflow turns an argument value into key text: Python's `str()` of
/// the value, with `None` as `null`, lists joined by `,` (unsorted, as
/// `ArgsKeyField` keeps them) and objects as `key:value` joined by `||`,
/// sorted by key.
public enum RestflowKeyText {
    public static func string(_ value: JSONValue) -> String {
        switch value {
        case .null: return "null"
        case .bool(let flag): return flag ? "True" : "False"
        case .int(let number): return String(number)
        case .double(let number): return pythonFloat(number)
        case .string(let text): return text
        case .array(let items): return items.map(string).joined(separator: ",")
        case .object(let object):
            return object.sortedByKey().members.map { "\($0.key):\(string($0.value))" }.joined(separator: "||")
        }
    }

    /// Python's `repr(float)`: shortest round-trip digits, exponent form from
    /// 1e16 up and below 1e-4.
    ///
    /// NOTE: Swift switches to exponent form at 2^53 where Python does at
    /// 1e16, so floats between about 9.007e15 and 1e16 are re-expanded here;
    /// the digits themselves are the same shortest round-trip digits.
    public static func pythonFloat(_ number: Double) -> String {
        if number.isNaN { return "nan" }
        if number.isInfinite { return number < 0 ? "-inf" : "inf" }
        let text = number.description
        let magnitude = abs(number)
        if magnitude >= 9.0e15 && magnitude < 1e16, text.contains("e") {
            return String(format16Digits: number)
        }
        return text
    }
}

extension String {
    /// Writes a float in [9e15, 1e16) as Python does: all integer digits, then ".0".
    fileprivate init(format16Digits number: Double) {
        self = String(Int64(number)) + ".0"
    }
}
