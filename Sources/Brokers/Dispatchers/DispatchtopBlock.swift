import Engine

/// The block a broker payload carries beside restflow's own arguments: the
/// batch, and the stable id and fingerprint of each of its rules.
///
/// restflow's payloads name rules by their numeric registration order only,
/// which changes when the configuration does. With this block a consumer of
/// this engine runs the same rules after a reload, or reports them missing
/// or changed, never a different rule under the same number. Python workers
/// never read it, and each system carries it where restflow's task accepts
/// extra data:
///
/// - Celery: the kwarg `dispatchtop`, which lands in the task's `**context`.
/// - RQ and django-q: `context={"dispatchtop": {...}}`, a keyword argument of
///   `run_cache_rules`.
/// - Dramatiq: the message option `dispatchtop`, which is not passed to the actor.
public struct DispatchtopBlock: Sendable, Equatable {
    /// The member name under which every system carries the block.
    public static let key = "dispatchtop"
    /// The format version written into every block.
    public static let version: Int64 = 1

    /// The batch, with rule arguments keyed by stable rule id again.
    public var batch: Batch
    /// Fingerprint by stable rule id, for every rule whose fingerprint was
    /// known when the batch was sent.
    public var fingerprints: [String: String]

    public init(batch: Batch, fingerprints: [String: String]) {
        self.batch = batch
        self.fingerprints = fingerprints
    }

    // MARK: - Building

    /// Builds the block for `batch`.
    ///
    /// The rule arguments are left out, because the payload already carries
    /// them as restflow's `rule_kwargs`; ``read(from:)`` takes them from there.
    public static func make(batch: Batch, fingerprints: [String: String]) -> JSONObject {
        var block = JSONObject()
        block.appendUnchecked("version", .int(version))
        let leftOut: Set<String> = ["rule_ids", "restflow_rule_ids", "rule_kwargs"]
        for member in BatchCoding.encode(batch) where !leftOut.contains(member.key) {
            block.appendUnchecked(member.key, member.value)
        }
        var rules: [JSONValue] = []
        for (position, id) in batch.ruleIDs.enumerated() {
            var rule = JSONObject()
            rule.appendUnchecked("id", .string(id))
            let number = position < batch.restflowRuleIDs.count ? JSONValue.int(Int64(batch.restflowRuleIDs[position])) : .null
            rule.appendUnchecked("restflow_id", number)
            rule.appendUnchecked("fingerprint", fingerprints[id].map(JSONValue.string) ?? .null)
            rules.append(.object(rule))
        }
        block.appendUnchecked("rules", .array(rules))
        return block
    }

    // MARK: - Reading

    /// Reads the block of a task as its system places it.
    public static func read(from task: TaskMessage) -> Result<DispatchtopBlock, BatchError> {
        read(system: task.system, args: task.args, kwargs: task.kwargs, options: task.options)
    }

    /// Reads the block from a decoded payload: where the system carries it,
    /// with the rule arguments taken from restflow's `rule_kwargs`.
    public static func read(
        system: BrokerSystem, args: [JSONValue], kwargs: JSONObject, options: JSONObject
    ) -> Result<DispatchtopBlock, BatchError> {
        let block: JSONValue?
        let ruleKwargs: JSONValue?
        switch system {
        case .celery:
            block = kwargs[key]
            ruleKwargs = kwargs["rule_kwargs"]
        case .rq, .djangoQ:
            block = kwargs["context"]?[key]
            ruleKwargs = args.count > 1 ? args[1] : nil
        case .dramatiq:
            block = options[key]
            ruleKwargs = args.count > 1 ? args[1] : nil
        }
        guard let object = block?.objectValue else {
            return .failure(undecodable("the \(system.rawValue) payload has no '\(key)' object"))
        }
        guard let kwargsObject = ruleKwargs?.objectValue else {
            return .failure(undecodable("the \(system.rawValue) payload has no rule_kwargs object"))
        }
        return decode(object, restflowRuleKwargs: kwargsObject)
    }

    private static func decode(_ block: JSONObject, restflowRuleKwargs: JSONObject) -> Result<DispatchtopBlock, BatchError> {
        guard block["version"]?.intValue == version else {
            let found = block["version"].map { JSONWriter.string($0) } ?? "missing"
            return .failure(undecodable("the '\(key)' block has version \(found); this engine reads version \(version)"))
        }
        guard let rules = block["rules"]?.arrayValue else {
            return .failure(undecodable("the '\(key)' block has no rules list"))
        }

        var ids: [JSONValue] = []
        var numbers: [JSONValue] = []
        var kwargs = JSONObject()
        var fingerprints: [String: String] = [:]
        for (index, rule) in rules.enumerated() {
            guard let id = rule["id"]?.stringValue else {
                return .failure(undecodable("rule \(index) of the '\(key)' block has no string id"))
            }
            ids.append(.string(id))
            if let number = rule["restflow_id"]?.intValue {
                numbers.append(.int(number))
                if let arguments = restflowRuleKwargs[String(number)] {
                    kwargs[id] = arguments
                }
            }
            if let fingerprint = rule["fingerprint"]?.stringValue {
                fingerprints[id] = fingerprint
            }
        }

        var coded = block
        coded["version"] = nil
        coded["rules"] = nil
        coded["rule_ids"] = .array(ids)
        coded["restflow_rule_ids"] = .array(numbers)
        coded["rule_kwargs"] = .object(kwargs)
        return BatchCoding.decode(coded).map { DispatchtopBlock(batch: $0, fingerprints: fingerprints) }
    }

    private static func undecodable(_ message: String) -> BatchError {
        BatchError(kind: .undecodable, message: message)
    }

    // MARK: - Checking

    /// Checks the block's rules against `rules`; returns a `rule_missing`
    /// failure for the first rule that is gone or whose fingerprint differs.
    /// A rule sent without a fingerprint is checked for presence only.
    public func check(against rules: RuleSet) -> BatchError? {
        for id in batch.ruleIDs {
            guard let rule = rules.rule(id: id) else {
                return BatchError(kind: .ruleMissing, message: "the configuration has no rule '\(id)'", ruleID: id)
            }
            if let sent = fingerprints[id], sent != rule.fingerprint {
                return BatchError(
                    kind: .ruleMissing,
                    message: "rule '\(id)' has changed since the batch was sent (fingerprint \(sent), now \(rule.fingerprint))",
                    ruleID: id)
            }
        }
        return nil
    }
}
