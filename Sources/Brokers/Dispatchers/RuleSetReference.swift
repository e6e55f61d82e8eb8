import Engine
import Synchronization

/// The rule set in force, replaced on every reload.
///
/// Broker dispatchers are built while a rule set is being compiled, before it
/// exists, yet every payload they send carries the fingerprints of its rules.
/// They read them through this reference, which the owner of the engine sets
/// once compilation is done and again after each reload.
public final class RuleSetReference: Sendable {
    private let current: Mutex<RuleSet?>

    public init(_ rules: RuleSet? = nil) {
        current = Mutex(rules)
    }

    /// The rule set in force; nil until one is set.
    public var rules: RuleSet? { current.withLock { $0 } }

    /// Replaces the rule set in force.
    public func set(_ rules: RuleSet) {
        current.withLock { $0 = rules }
    }

    /// Returns the fingerprint of each rule the rule set in force has, by
    /// stable rule id. Ids it does not have are left out, as are all ids while no rule
    /// set is set.
    public func fingerprints(of ruleIDs: [String]) -> [String: String] {
        guard let rules else { return [:] }
        var found: [String: String] = [:]
        for id in ruleIDs {
            if let rule = rules.rule(id: id) {
                found[id] = rule.fingerprint
            }
        }
        return found
    }
}
