import Engine

/// Receives a batch whose broker could not be reached, so that it is kept
/// and sent later instead of lost.
///
/// The hook takes over the batch: it stays queued in the executor until the
/// hook's owner sends it again or reports its outcome.
public typealias BrokerOutbox = @Sendable (Batch, BrokerError) -> Void

/// The parts every broker dispatcher shares: the broker it sends to, the
/// rules whose fingerprints its payloads carry, and where a batch goes while
/// the broker is unavailable.
public struct BrokerDispatchContext: Sendable {
    public var broker: any MessageBroker
    public var rules: RuleSetReference
    /// Called for a batch the broker refused with `unavailable`; nil fails
    /// the batch with kind `broker` instead.
    public var outbox: BrokerOutbox?
    public var logger: Logger

    public init(
        broker: any MessageBroker, rules: RuleSetReference = RuleSetReference(), outbox: BrokerOutbox? = nil,
        logger: Logger = .disabled
    ) {
        self.broker = broker
        self.rules = rules
        self.outbox = outbox
        self.logger = logger
    }
}

/// A dispatcher that hands each batch to a task broker as one task message.
///
/// Conforming types build the ``TaskMessage`` for a batch. Sending,
/// replaying stored bytes and broker failures are handled here, alike for
/// every system.
public protocol BrokerDispatcher: Dispatcher {
    var context: BrokerDispatchContext { get }
    /// Builds the task message restflow's dispatcher of this system would send for `batch`.
    func makeTask(for batch: Batch) -> TaskMessage
}

extension BrokerDispatcher {
    /// Encodes the batch and stores it on the broker.
    ///
    /// - Throws: the broker's failure as a `broker` batch error, when the
    ///   batch's error policy is to raise and no outbox took the batch.
    public func dispatch(_ batch: Batch, executor: BatchExecutor) throws(BatchError) {
        let task = makeTask(for: batch)
        do {
            _ = try context.broker.enqueue(task, reportingTo: executor)
        } catch {
            try handOver(batch, brokerError: error, executor: executor)
            return
        }
        if !context.broker.reportsOutcomes {
            executor.markSent(batch)
        }
    }

    /// Stores the batch's original payload again, byte for byte; a batch
    /// without a stored payload is encoded anew.
    public func redeliver(_ batch: Batch, executor: BatchExecutor) throws(BatchError) {
        guard let payload = batch.payload else {
            try dispatch(batch, executor: executor)
            return
        }
        do {
            try context.broker.enqueueStored(payload, task: makeTask(for: batch), reportingTo: executor)
        } catch {
            try handOver(batch, brokerError: error, executor: executor)
            return
        }
        if !context.broker.reportsOutcomes {
            executor.markSent(batch)
        }
    }

    /// Gives a batch the broker did not take to the outbox, or fails it.
    private func handOver(_ batch: Batch, brokerError: BrokerError, executor: BatchExecutor) throws(BatchError) {
        let metadata = [
            (LogKey.batchID, String(batch.id)), (LogKey.dispatcher, name), (LogKey.error, brokerError.message),
        ]
        if brokerError.kind == .unavailable, let outbox = context.outbox {
            context.logger.info("Broker unavailable, batch handed to the outbox", metadata)
            outbox(batch, brokerError)
            return
        }
        let failure = BatchError(
            kind: .broker, message: "sending to the \(context.broker.label) broker failed: \(brokerError.message)")
        executor.fail(batch, error: failure, willRetry: false)
        if batch.raiseException {
            throw failure
        }
    }

    /// Builds the `dispatchtop` block for `batch`, with the fingerprints of
    /// its rules in the rule set in force.
    public func dispatchtopBlock(for batch: Batch) -> JSONObject {
        DispatchtopBlock.make(batch: batch, fingerprints: context.rules.fingerprints(of: batch.ruleIDs))
    }
}

// MARK: - Options

/// Builds the batch key of a broker dispatcher: its type and the options
/// that decide where its tasks go, in that order (`celery|task_name="…",queue=null`).
func brokerBatchKey(_ name: String, _ parts: [(String, String?)]) -> String {
    let rendered = parts.map { "\($0.0)=\(JSONWriter.string($0.1.map(JSONValue.string) ?? .null))" }
    return "\(name)|\(rendered.joined(separator: ","))"
}

extension DispatcherOptions {
    /// Rejects options the dispatcher does not have, naming the key, its
    /// value and the known options. `raise_exception` is always known.
    func rejectUnknownBrokerOptions(allowed: [String]) throws(DispatcherConfigurationError) {
        let known = (allowed + ["raise_exception"]).sorted()
        for member in values where !known.contains(member.key) {
            let hint = NameSuggestion.closest(to: member.key, in: known).map { " (did you mean '\($0)'?)" } ?? ""
            throw DispatcherConfigurationError(
                dispatcher: dispatcher, key: member.key, value: member.value,
                expected: "no such option\(hint); \(dispatcher) options are \(known.joined(separator: ", "))")
        }
    }

    /// Returns the options with each resolved value set, nil ones as null, so
    /// a replay that rebuilds the dispatcher from them gets the same one.
    ///
    /// NOTE: a null in a rule's dispatcher_config hides the settings block's
    /// value, because the options arrive merged. restflow 2.0.1 falls back
    /// to the settings block there for every option but Celery's queue.
    func resolved(_ settings: [(String, String?)]) -> JSONObject {
        var resolved = values
        for (key, value) in settings {
            resolved[key] = value.map(JSONValue.string) ?? .null
        }
        return resolved
    }
}
