import Foundation

/// Runs the rules of a batch against the cache store: drop the partition,
/// recompute the entry, or call the rule's invalidator.
public final class RuleRunner: Sendable {
    public let rules: RuleSet
    public let cache: CacheContext
    let logger: Logger
    /// The storage key up to the partition for each rule, by rule index:
    /// `KEY_PREFIX:version:[namespace::]identifier::`, built once.
    private let storageHeads: [String]
    /// For each function partitioned on one argument, the head followed by
    /// `name:` as UTF-8, one after the other in memory this runner owns, and
    /// each rule's part of it by rule index (count 0 for other functions).
    /// A drop reads them through pointers, which retains nothing, where
    /// reading an array element retains its storage. Written in `init`
    /// only, then read from any thread.
    nonisolated(unsafe) private let headBytes: UnsafeMutableBufferPointer<UInt8>
    nonisolated(unsafe) private let headParts: UnsafeMutableBufferPointer<(offset: Int, count: Int)>
    /// The partition argument's name of each rule with a head, by rule
    /// index, so a drop need not read it through the function's key.
    private let partitionNames: [String?]

    public init(rules: RuleSet, cache: CacheContext, logger: Logger) {
        self.rules = rules
        self.cache = cache
        self.logger = logger
        let heads = rules.compiled.map { compiled in
            DjangoCacheKey.make(
                prefix: cache.keyPrefix, version: compiled.function.key.version,
                key: compiled.function.key.head(function: compiled.function.name))
        }
        storageHeads = heads
        let partitionHeads = zip(rules.compiled, heads).map { compiled, head -> [UInt8]? in
            let partition = compiled.function.key.partition
            guard partition.count == 1 else { return nil }
            return Array((head + partition[0] + ":").utf8)
        }
        partitionNames = rules.compiled.map { compiled in
            compiled.function.key.partition.count == 1 ? compiled.function.key.partition[0] : nil
        }
        headBytes = .allocate(capacity: max(1, partitionHeads.reduce(0) { $0 + ($1?.count ?? 0) }))
        headParts = .allocate(capacity: max(1, partitionHeads.count))
        var offset = 0
        for (index, head) in partitionHeads.enumerated() {
            let bytes = head ?? []
            _ = UnsafeMutableBufferPointer(rebasing: headBytes[offset..<offset + bytes.count]).initialize(from: bytes)
            headParts[index] = (offset, bytes.count)
            offset += bytes.count
        }
    }

    deinit {
        headBytes.deallocate()
        headParts.deallocate()
    }

    /// Returns the partition head of rule `index`, or nil when its function
    /// is not partitioned on exactly one argument.
    private func partitionHead(_ index: Int) -> UnsafeBufferPointer<UInt8>? {
        let part = headParts[index]
        guard part.count > 0 else { return nil }
        return UnsafeBufferPointer(rebasing: headBytes[part.offset..<part.offset + part.count])
    }

    /// A partition drop waiting to be sent to the store with its neighbours.
    private struct PendingDrop {
        var ruleID: String
        var function: String
        var prefix: String
    }

    /// Runs every rule of the batch, going on past a failing rule so one bad
    /// rule does not leave the others' entries stale, and returns the first failure.
    ///
    /// Drops of consecutive rules go to the store in one
    /// ``CacheStore/deletePrefixes(_:)`` call; a rule with an invalidator or
    /// a rewarm first sends the drops of the rules before it, so the store
    /// applies every change in rule order.
    public func run(_ batch: Batch) -> BatchError? {
        if batch.ruleIDs.count == 1 { return runAlone(batch) }
        var firstFailure: BatchError?
        var pending: [PendingDrop] = []
        func report(_ failure: BatchError?, ruleID: String) {
            guard let failure else { return }
            logFailure(failure, batchID: batch.id, ruleID: ruleID)
            if firstFailure == nil { firstFailure = failure }
        }
        func flush() {
            guard !pending.isEmpty else { return }
            for (drop, failure) in zip(pending, sendDrops(pending)) {
                report(failure, ruleID: drop.ruleID)
            }
            pending.removeAll(keepingCapacity: true)
        }

        for (position, ruleID) in batch.ruleIDs.enumerated() {
            let arguments = Self.arguments(of: batch, position: position, ruleID: ruleID)
            guard let compiled = compiledRule(ruleID, batch: batch, position: position) else {
                flush()
                report(
                    BatchError(kind: .ruleMissing, message: "the configuration has no rule '\(ruleID)'", ruleID: ruleID),
                    ruleID: ruleID)
                continue
            }
            if compiled.rule.invalidator != nil || compiled.rule.rewarm {
                flush()
                if let name = compiled.rule.invalidator {
                    report(invalidate(compiled, invalidator: name, arguments: arguments), ruleID: ruleID)
                    continue
                }
                if rewarm(compiled.rule.id, function: compiled.function, arguments: arguments, batchID: batch.id) {
                    continue
                }
            }
            if pending.isEmpty { pending.reserveCapacity(batch.ruleIDs.count - position) }
            pending.append(
                PendingDrop(ruleID: ruleID, function: compiled.function.name, prefix: dropPrefix(compiled, arguments)))
        }
        flush()
        return firstFailure
    }

    /// Runs a batch of one rule, the case of every dispatcher that does not
    /// batch, without collecting drops.
    private func runAlone(_ batch: Batch) -> BatchError? {
        let ruleID = batch.ruleIDs[0]
        guard let compiled = compiledRule(ruleID, batch: batch, position: 0) else {
            let failure = BatchError(kind: .ruleMissing, message: "the configuration has no rule '\(ruleID)'", ruleID: ruleID)
            logFailure(failure, batchID: batch.id, ruleID: ruleID)
            return failure
        }
        return runSolo(compiled, arguments: Self.arguments(of: batch, position: 0, ruleID: ruleID), batchID: batch.id)
    }

    /// Runs one rule of this rule set with its arguments, as the batch
    /// `batchID` of that rule alone. Logs and returns its failure.
    func runSolo(_ compiled: CompiledRule, arguments: JSONObject, batchID: UInt64) -> BatchError? {
        let failure = runRule(compiled, arguments: arguments, batchID: batchID)
        if let failure { logFailure(failure, batchID: batchID, ruleID: compiled.rule.id) }
        return failure
    }

    private func logFailure(_ failure: BatchError, batchID: UInt64, ruleID: String) {
        logger.warning("Rule failed", [(LogKey.batchID, String(batchID)), (LogKey.ruleID, ruleID), (LogKey.error, failure.message)])
    }

    private func runRule(_ compiled: CompiledRule, arguments: JSONObject, batchID: UInt64) -> BatchError? {
        let ruleID = compiled.rule.id
        if let name = compiled.rule.invalidator {
            return invalidate(compiled, invalidator: name, arguments: arguments)
        }
        if compiled.rule.rewarm, rewarm(ruleID, function: compiled.function, arguments: arguments, batchID: batchID) {
            return nil
        }
        do {
            try dropPartition(compiled, arguments)
            return nil
        } catch {
            return BatchError(
                kind: .cache, message: "dropping entries of \(compiled.function.name) failed: \(error)", ruleID: ruleID)
        }
    }

    /// Returns the arguments stored for the rule at `position`. The members
    /// are in rule order when the engine built the batch, so that is tried first.
    private static func arguments(of batch: Batch, position: Int, ruleID: String) -> JSONObject {
        let members = batch.ruleKwargs.members
        if position < members.count, members[position].key == ruleID {
            return members[position].value.objectValue ?? JSONObject()
        }
        return batch.ruleKwargs[ruleID]?.objectValue ?? JSONObject()
    }

    /// Returns the compiled rule with this id. A batch built by this rule set
    /// names the rule's restflow id (its 1-based position) beside it, which
    /// finds the rule without hashing. The id is still compared, so a batch
    /// from another configuration falls back to the lookup by id.
    private func compiledRule(_ ruleID: String, batch: Batch, position: Int) -> CompiledRule? {
        if position < batch.restflowRuleIDs.count {
            let index = batch.restflowRuleIDs[position] - 1
            if index >= 0, index < rules.compiled.count, rules.compiled[index].rule.id == ruleID {
                return rules.compiled[index]
            }
        }
        return rules.compiledRule(id: ruleID)
    }

    private func invalidate(_ compiled: CompiledRule, invalidator name: String, arguments: JSONObject) -> BatchError? {
        let ruleID = compiled.rule.id
        guard let invalidator = rules.invalidators.invalidator(named: name) else {
            return BatchError(kind: .ruleMissing, message: "no invalidator named '\(name)'", ruleID: ruleID)
        }
        do {
            try invalidator.invalidate(function: compiled.function, event: arguments, cache: cache)
            return nil
        } catch {
            return BatchError(kind: .invalidator, message: "invalidator '\(name)' failed: \(error)", ruleID: ruleID)
        }
    }

    /// Drops the rule's partition, the prefix of ``dropPrefix(_:_:)``. When
    /// ``withSinglePartitionPrefix(_:_:_:)`` applies, the prefix is built on
    /// the stack, so no `String` is allocated per drop.
    private func dropPartition(_ compiled: CompiledRule, _ arguments: JSONObject) throws(CacheStoreError) {
        let index = compiled.index
        if let head = partitionHead(index), let name = partitionNames[index], let value = arguments[name],
            let result = Self.withSinglePartitionPrefix(head, value, { prefix in
                Result { () throws(CacheStoreError) -> Int in try cache.store.deletePrefix(utf8: prefix, hint: index) }
            })
        {
            _ = try result.get()
            return
        }
        try cache.store.deletePrefix(dropPrefix(compiled, arguments))
    }

    /// Returns the storage prefix of the rule's partition, equal to
    /// `cache.storagePrefix(of:arguments:)`, with the constant head built once.
    private func dropPrefix(_ compiled: CompiledRule, _ arguments: JSONObject) -> String {
        if let head = partitionHead(compiled.index), let name = partitionNames[compiled.index],
            let value = arguments[name],
            let prefix = Self.withSinglePartitionPrefix(head, value, { String(decoding: $0, as: UTF8.self) })
        {
            return prefix
        }
        let head = storageHeads[compiled.index]
        let scope = compiled.function.key.scope(arguments: arguments)
        if scope.isEmpty { return head }
        var prefix = ""
        prefix.reserveCapacity(head.utf8.count + scope.utf8.count + 2)
        prefix += head
        prefix += scope
        prefix += "::"
        return prefix
    }

    /// Calls `body` with `head` + the value's key text + "::", written into a
    /// temporary buffer, for an integer or a non-empty string that does not
    /// end in ':'. Returns nil without calling `body` for other values, whose
    /// text may end the scope in "::", which the general path trims as restflow does.
    private static func withSinglePartitionPrefix<Result>(
        _ head: UnsafeBufferPointer<UInt8>, _ value: JSONValue, _ body: (UnsafeBufferPointer<UInt8>) -> Result
    ) -> Result? {
        switch value {
        case .int(let number):
            var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)
            return withUnsafeMutableBytes(of: &digits) { scratch in
                withAssembled(head, DecimalText.write(number, into: scratch), body)
            }
        case .string(var text) where !text.isEmpty && text.utf8.last != UInt8(ascii: ":"):
            return text.withUTF8 { withAssembled(head, UnsafeRawBufferPointer($0), body) }
        default:
            return nil
        }
    }

    /// Calls `body` with `head` + `text` + "::" in a temporary buffer.
    private static func withAssembled<Result>(
        _ head: UnsafeBufferPointer<UInt8>, _ text: UnsafeRawBufferPointer, _ body: (UnsafeBufferPointer<UInt8>) -> Result
    ) -> Result {
        let count = head.count + text.count + 2
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: count) { buffer in
            // Plain byte copies: the generic initializers cost more than the drop's walk.
            let base = buffer.baseAddress.unsafelyUnwrapped
            if let source = head.baseAddress { memcpy(base, source, head.count) }
            if let source = text.baseAddress { memcpy(base + head.count, source, text.count) }
            base[count - 2] = UInt8(ascii: ":")
            base[count - 1] = UInt8(ascii: ":")
            return body(UnsafeBufferPointer(start: base, count: count))
        }
    }

    /// Sends the pending drops in one call; returns each one's failure, if any.
    private func sendDrops(_ drops: [PendingDrop]) -> [BatchError?] {
        let results: [Result<Int, CacheStoreError>]
        if drops.count == 1 {
            // One prefix needs no array of results from the store.
            results = [Result { () throws(CacheStoreError) -> Int in try cache.store.deletePrefix(drops[0].prefix) }]
        } else {
            results = cache.store.deletePrefixes(drops.map(\.prefix))
        }
        return zip(drops, results).map { drop, result in
            guard case .failure(let error) = result else { return nil }
            return BatchError(kind: .cache, message: "dropping entries of \(drop.function) failed: \(error)", ruleID: drop.ruleID)
        }
    }

    /// Recomputes the entry; returns false (after logging why) when the
    /// caller should drop it instead.
    private func rewarm(_ ruleID: String, function: CachedFunction, arguments: JSONObject, batchID: UInt64) -> Bool {
        let metadata = [(LogKey.batchID, String(batchID)), (LogKey.ruleID, ruleID), (LogKey.function, function.name)]
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
