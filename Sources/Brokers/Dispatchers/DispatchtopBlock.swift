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

    /// The batch, with rule arguments keyed by stable rule id.
    public var batch: Batch
    /// Fingerprint by stable rule id, for every rule whose fingerprint was
    /// known when the batch was sent.
    public var fingerprints: [String: String]

    public init(batch: Batch, fingerprints: [String: String]) {
        self.batch = batch
        self.fingerprints = fingerprints
    }

    // MARK: - Building

    /// Builds the block for `batch`: `version`, the batch in ``BatchCoding``'s
    /// form (rule arguments keyed by stable rule id), then `fingerprints`,
    /// the fingerprint of each rule by stable id, for the rules whose
    /// fingerprint is known. Any reader of ``BatchCoding`` can read it.
    public static func make(batch: Batch, fingerprints: [String: String]) -> JSONObject {
        var block = JSONObject()
        block.appendUnchecked("version", .int(version))
        for member in BatchCoding.encode(batch) {
            block.appendUnchecked(member.key, member.value)
        }
        var known = JSONObject()
        for id in batch.ruleIDs {
            if let fingerprint = fingerprints[id] {
                known[id] = .string(fingerprint)
            }
        }
        block.appendUnchecked("fingerprints", .object(known))
        return block
    }

    // MARK: - Reading

    /// Reads the block of a task as its system places it.
    public static func read(from task: TaskMessage) -> Result<DispatchtopBlock, BatchError> {
        read(system: task.system, kwargs: task.kwargs, options: task.options)
    }

    /// Reads the block from a decoded payload, where the system carries it.
    public static func read(system: BrokerSystem, kwargs: JSONObject, options: JSONObject) -> Result<DispatchtopBlock, BatchError> {
        let block: JSONValue?
        switch system {
        case .celery: block = kwargs[key]
        case .rq, .djangoQ: block = kwargs["context"]?[key]
        case .dramatiq: block = options[key]
        }
        guard let object = block?.objectValue else {
            return .failure(undecodable("the \(system.rawValue) payload has no '\(key)' object"))
        }
        guard object["version"]?.intValue == version else {
            let found = object["version"].map { JSONWriter.string($0) } ?? "missing"
            return .failure(undecodable("the '\(key)' block has version \(found); this engine reads version \(version)"))
        }
        var fingerprints: [String: String] = [:]
        for member in object["fingerprints"]?.objectValue ?? JSONObject() {
            if let fingerprint = member.value.stringValue {
                fingerprints[member.key] = fingerprint
            }
        }
        return BatchCoding.decode(object).map { DispatchtopBlock(batch: $0, fingerprints: fingerprints) }
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
