/// A small, fast, seedable random number generator (SplitMix64), so the demo
/// and the recorded event file are reproducible.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) {
        state = seed
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var mixed = state
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        return mixed ^ (mixed >> 31)
    }
}

/// Makes plausible change events for the models of a configuration.
///
/// For each model it gathers the attributes the rules read (`field_mapping`
/// paths, `watch_fields`, `invalidate_when` keys) and fills them: ids with
/// small integers so partitions repeat, condition attributes with the
/// expected value most of the time, the rest with words and numbers. The mix
/// is about 60 % partial saves, 15 % full saves, 15 % creates and 10 % deletes.
public struct DemoEventGenerator: Sendable {
    struct ModelShape: Sendable {
        var label: String
        /// Attribute paths, split on dots.
        var paths: [[String]]
        var watchFields: [String]
        /// Condition expectations by path.
        var expectations: [[String]: JSONValue]
    }

    let shapes: [ModelShape]
    private var random: SeededGenerator
    private var nextPK: [String: Int64] = [:]
    /// Primary keys stay in 1...`keySpace`, so the same records change again.
    public var keySpace: Int64

    public init(configuration: EngineConfiguration, seed: UInt64 = 7, keySpace: Int64 = 60) {
        var shapes: [String: ModelShape] = [:]
        for rule in configuration.rules {
            var shape = shapes[rule.model] ?? ModelShape(label: rule.model, paths: [], watchFields: [], expectations: [:])
            for mapping in rule.fieldMapping where !shape.paths.contains(mapping.segments) {
                shape.paths.append(mapping.segments)
            }
            for field in rule.watchFields ?? [] where !shape.watchFields.contains(field) {
                shape.watchFields.append(field)
                if !shape.paths.contains([field]) { shape.paths.append([field]) }
            }
            for condition in rule.invalidateWhen {
                if !shape.paths.contains(condition.segments) { shape.paths.append(condition.segments) }
                if !condition.negated { shape.expectations[condition.segments] = condition.expected }
                else if shape.expectations[condition.segments] == nil {
                    shape.expectations[condition.segments] = Self.opposite(of: condition.expected)
                }
            }
            shapes[rule.model] = shape
        }
        self.shapes = shapes.keys.sorted().compactMap { shapes[$0] }
        random = SeededGenerator(seed: seed)
        self.keySpace = keySpace
    }

    /// The next event; nil only when the configuration has no rules.
    public mutating func next() -> ChangeEvent? {
        guard !shapes.isEmpty else { return nil }
        let shape = shapes[Int.random(in: 0..<shapes.count, using: &random)]
        let roll = Int.random(in: 0..<100, using: &random)
        let pk: JSONValue
        if roll < 15 {
            let created = (nextPK[shape.label] ?? keySpace) + 1
            nextPK[shape.label] = created
            pk = .int(created)
        } else {
            pk = .int(Int64.random(in: 1...keySpace, using: &random))
        }
        var event = ChangeEvent(model: shape.label, pk: pk, signal: .postSave, fields: fields(for: shape, pk: pk))
        switch roll {
        case 0..<15:
            event.created = true
        case 15..<25:
            event.signal = .postDelete
        case 25..<40:
            event.updateFields = nil
        default:
            event.updateFields = updateFields(for: shape)
        }
        return event
    }

    private mutating func updateFields(for shape: ModelShape) -> [String] {
        var names: [String] = []
        if !shape.watchFields.isEmpty, Int.random(in: 0..<100, using: &random) < 70 {
            names.append(shape.watchFields[Int.random(in: 0..<shape.watchFields.count, using: &random)])
        }
        names.append(["updated_at", "view_count", "notes"][Int.random(in: 0..<3, using: &random)])
        return names
    }

    private mutating func fields(for shape: ModelShape, pk: JSONValue) -> JSONObject {
        var root = JSONObject()
        root["id"] = pk
        for path in shape.paths where path != ["id"] && path != ["pk"] {
            let value = value(for: path, expected: shape.expectations[path])
            Self.assign(value, at: path[...], in: &root)
        }
        return root
    }

    private mutating func value(for path: [String], expected: JSONValue?) -> JSONValue {
        if let expected, Int.random(in: 0..<100, using: &random) < 80 { return expected }
        if let expected { return Self.opposite(of: expected) }
        let name = path.last ?? ""
        if name == "id" || name.hasSuffix("_id") || name == "pk" {
            // Now and then a foreign key is unset, which require_args catches.
            if Int.random(in: 0..<100, using: &random) < 3 { return .null }
            return .int(Int64.random(in: 1...keySpace, using: &random))
        }
        if name.hasSuffix("_at") {
            let day = Int.random(in: 1...28, using: &random)
            let hour = Int.random(in: 0...23, using: &random)
            return .string("2026-11-\(day < 10 ? "0" : "")\(day)T\(hour < 10 ? "0" : "")\(hour):00:00Z")
        }
        if ["price", "amount", "total", "discount"].contains(where: name.contains) {
            return .double(Double(Int.random(in: 100...99_999, using: &random)) / 100)
        }
        if ["quantity", "count", "reserved", "stock", "rating"].contains(where: name.contains) {
            return .int(Int64.random(in: 0...500, using: &random))
        }
        if name.hasPrefix("is_") || name.hasPrefix("has_") || ["active", "approved", "archived", "published"].contains(name) {
            return .bool(Bool.random(using: &random))
        }
        if name == "email" {
            return .string("customer\(Int64.random(in: 1...keySpace, using: &random))@example.com")
        }
        let words = ["north", "amber", "quartz", "lumen", "cedar", "harbor", "violet", "ember"]
        return .string(words[Int.random(in: 0..<words.count, using: &random)] + "-" + String(Int.random(in: 1...99, using: &random)))
    }

    private static func opposite(of value: JSONValue) -> JSONValue {
        switch value {
        case .bool(let flag): return .bool(!flag)
        case .null: return .string("set")
        case .int(let number): return .int(number + 1)
        case .double(let number): return .double(number + 1)
        case .string(let text): return .string(text + "-other")
        default: return .null
        }
    }

    private static func assign(_ value: JSONValue, at path: ArraySlice<String>, in object: inout JSONObject) {
        guard let head = path.first else { return }
        if path.count == 1 {
            object[head] = value
            return
        }
        var child = object[head]?.objectValue ?? JSONObject()
        assign(value, at: path.dropFirst(), in: &child)
        object[head] = .object(child)
    }
}
