/// The fields of a rule that evaluation reads for every event, as plain
/// values. The loop over a model's rules then touches no reference-counted
/// field until a rule passes its change checks.
struct RuleChecks: Sendable {
    var triggerOnCreate: Bool
    /// Whether `watch_fields` is a non-empty list.
    var watchesFields: Bool
    /// The bits of the watched names (see ``WatchedFieldBits``).
    var watchedBits: UInt64
    /// Whether a watched name has no bit, so the names themselves are compared.
    var comparesNames: Bool
    var hasConditions: Bool
    /// ``RuleSet/argumentSlots`` and ``RuleSet/conditionSlots`` of the rule.
    var argumentSlot: Int
    var conditionSlot: Int
    /// ``CompiledRule/batchGroup`` of the rule.
    var group: Int?
}

/// One bit per field name that a rule watches, for the first 64 ASCII names,
/// so a partial save is matched against `watch_fields` with one AND.
struct WatchedFieldBits: Sendable {
    private let bits: ASCIILabelTable<UInt64>

    /// Gives bits to the watched names of `rules`, in rule order.
    init(_ rules: [InvalidationRule]) {
        var names: [String] = []
        for rule in rules {
            for name in rule.watchFields ?? [] where names.count < 64 && name.utf8.allSatisfy({ $0 < 0x80 }) {
                if !names.contains(name) { names.append(name) }
            }
        }
        bits = ASCIILabelTable(names.enumerated().map { ($0.element, UInt64(1) << UInt64($0.offset)) })
    }

    /// Returns the bit of `name`, or 0 when it has none.
    func bit(of name: String) -> UInt64? {
        switch bits.lookup(name) {
        case .found(let bit): return bit
        case .absent: return 0
        case .notASCII: return nil
        }
    }

    /// Returns the bits of the watched names among `names`, or nil when a
    /// name is not ASCII, because such names are compared as strings.
    func mask(of names: [String]) -> UInt64? {
        var mask: UInt64 = 0
        for name in names {
            guard let bit = bit(of: name) else { return nil }
            mask |= bit
        }
        return mask
    }

    /// Returns the checks of `rule`, whose slots and group are given.
    func checks(of rule: InvalidationRule, argumentSlot: Int, conditionSlot: Int, group: Int?) -> RuleChecks {
        let watched = rule.watchFields ?? []
        var watchedBits: UInt64 = 0
        var comparesNames = false
        for name in watched {
            if let bit = bit(of: name), bit != 0 {
                watchedBits |= bit
            } else {
                comparesNames = true
            }
        }
        return RuleChecks(
            triggerOnCreate: rule.triggerOnCreate, watchesFields: !watched.isEmpty, watchedBits: watchedBits,
            comparesNames: comparesNames, hasConditions: !rule.invalidateWhen.isEmpty, argumentSlot: argumentSlot,
            conditionSlot: conditionSlot, group: group)
    }
}
