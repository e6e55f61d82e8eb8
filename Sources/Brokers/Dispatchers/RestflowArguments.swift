import Engine

/// The two arguments restflow's broker tasks take, built from a batch the
/// way restflow's dispatchers send them, so real Python workers run them.
///
/// `rule_ids` are restflow's numeric rule ids (their 1-based registration
/// order) and `rule_kwargs` is keyed by those numbers as strings. A rule of
/// the batch without a restflow number is left out of both, because a Python
/// worker could not look it up. The `dispatchtop` block still names it.
public enum RestflowArguments {
    /// restflow's `rule_ids`: the numeric ids, in rule order.
    public static func ruleIDs(of batch: Batch) -> JSONValue {
        .array(numberedRules(of: batch).map { .int(Int64($0.number)) })
    }

    /// restflow's `rule_kwargs`: each rule's arguments under its numeric id as a string.
    public static func ruleKwargs(of batch: Batch) -> JSONValue {
        var kwargs = JSONObject()
        for rule in numberedRules(of: batch) {
            kwargs[String(rule.number)] = batch.ruleKwargs[rule.id] ?? .object(JSONObject())
        }
        return .object(kwargs)
    }

    /// Pairs each stable rule id with its restflow number, in rule order.
    static func numberedRules(of batch: Batch) -> [(id: String, number: Int)] {
        zip(batch.ruleIDs, batch.restflowRuleIDs).map { (id: $0.0, number: $0.1) }
    }
}
