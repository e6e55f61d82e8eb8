/// Runs the rules of a batch against the cache store: drop the partition,
/// recompute the entry, or call the rule's invalidator.
public struct RuleRunner: Sendable {
    public let rules: RuleSet
    public let cache: CacheContext
    let logger: Logger
    /// The storage key up to the partition for each rule, by rule index:
    /// `KEY_PREFIX:version:[namespace::]identifier::`, built once.
    private let storageHeads: [String]

    public init(rules: RuleSet, cache: CacheContext, logger: Logger) {
        self.rules = rules
        self.cache = cache
        self.logger = logger
        storageHeads = rules.compiled.map { compiled in
            DjangoCacheKey.make(
                prefix: cache.keyPrefix, version: compiled.function.key.version,
                key: compiled.function.key.head(function: compiled.function.name))
        }
    }

    /// Runs every rule of the batch, going on past a failing rule so one bad
    /// rule does not leave the others' entries stale, and returns the first failure.
    public func run(_ batch: Batch) -> BatchError? {
        var firstFailure: BatchError?
        for (position, ruleID) in batch.ruleIDs.enumerated() {
            let arguments = batch.ruleKwargs[ruleID]?.objectValue ?? JSONObject()
            if let failure = runRule(ruleID, arguments: arguments, batch: batch, position: position) {
                logger.warning(
                    "Rule failed",
                    [(LogKey.batchID, String(batch.id)), (LogKey.ruleID, ruleID), (LogKey.error, failure.message)])
                if firstFailure == nil { firstFailure = failure }
            }
        }
        return firstFailure
    }

    private func runRule(_ ruleID: String, arguments: JSONObject, batch: Batch, position: Int) -> BatchError? {
        guard let compiled = rules.compiledRule(id: ruleID) else {
            return BatchError(kind: .ruleMissing, message: "the configuration has no rule '\(ruleID)'", ruleID: ruleID)
        }
        let function = compiled.function
        if let name = compiled.rule.invalidator {
            guard let invalidator = rules.invalidators.invalidator(named: name) else {
                return BatchError(kind: .ruleMissing, message: "no invalidator named '\(name)'", ruleID: ruleID)
            }
            do {
                try invalidator.invalidate(function: function, event: arguments, cache: cache)
                return nil
            } catch {
                return BatchError(kind: .invalidator, message: "invalidator '\(name)' failed: \(error)", ruleID: ruleID)
            }
        }
        if compiled.rule.rewarm, rewarm(compiled.rule.id, function: function, arguments: arguments, batch: batch) {
            return nil
        }
        do {
            // Equal to cache.storagePrefix(of:arguments:), with the constant head built once.
            let scope = function.key.scope(arguments: arguments)
            let head = storageHeads[compiled.index]
            try cache.store.deletePrefix(scope.isEmpty ? head : head + scope + "::")
            return nil
        } catch {
            return BatchError(kind: .cache, message: "dropping entries of \(function.name) failed: \(error)", ruleID: ruleID)
        }
    }

    /// Recomputes the entry; returns false (after logging why) when the
    /// caller should drop it instead.
    private func rewarm(_ ruleID: String, function: CachedFunction, arguments: JSONObject, batch: Batch) -> Bool {
        let metadata = [(LogKey.batchID, String(batch.id)), (LogKey.ruleID, ruleID), (LogKey.function, function.name)]
        guard let name = function.recompute, let recomputer = rules.recomputers.recomputer(named: name) else {
            logger.info("Rewarm not possible, dropping instead: the function has no recomputer", metadata)
            return false
        }
        do {
            let value = try recomputer.recompute(function: function, arguments: arguments)
            try cache.store.set(cache.storageKey(of: function, arguments: arguments), value)
            return true
        } catch {
            logger.warning("Rewarm failed, dropping instead", metadata + [(LogKey.error, "\(error)")])
            return false
        }
    }
}
