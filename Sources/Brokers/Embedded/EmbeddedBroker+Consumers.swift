import Dispatch
import Engine

extension EmbeddedBroker {
    /// Runs one consumer thread: takes the next delivery of `system`, or
    /// waits for a wake-up, the next due retry or the next deadline.
    func runConsumer(for system: BrokerSystem) {
        while true {
            let now = settings.clock()
            let next: (NextStep, [ConsumerAction], Engine)? = shared.withLock { shared in
                guard !shared.stopping, let engine = shared.engine else { return nil }
                let (step, actions) = shared.machine.nextStep(for: system, now: now)
                if case .deliver = step { shared.busy += 1 }
                // A message put back may go to another consumer as soon as the
                // lock is released, so its batch is marked retrying first. The
                // call only updates the executor's tracker, so it is quick.
                return (step, markRetrying(actions), engine)
            }
            guard let (step, failures, engine) = next else { return }
            perform(failures)
            switch step {
            case .deliver(let delivery):
                consume(delivery, engine: engine)
                shared.withLock { $0.busy -= 1 }
            case .idle(let until):
                let timeout: DispatchTime = until.map { .now() + max(0, $0 - settings.clock()) } ?? .distantFuture
                _ = wakeups[system]?.wait(timeout: timeout)
            }
        }
    }

    /// Performs the `markRetrying` actions and returns the others.
    private func markRetrying(_ actions: [ConsumerAction]) -> [ConsumerAction] {
        actions.filter { action in
            guard case .markRetrying(let tracked, let error) = action else { return true }
            logger.info("Message not acknowledged in time, delivered again", metadata(tracked.batch, error))
            tracked.executor.markRetrying(tracked.batch, error: error)
            return false
        }
    }

    /// Performs the actions that may write the journal, outside the lock.
    private func perform(_ actions: [ConsumerAction]) {
        for action in actions {
            switch action {
            case .markRetrying(let tracked, let error):
                tracked.executor.markRetrying(tracked.batch, error: error)
            case .fail(let tracked, let error):
                logger.info("Message not acknowledged in time, out of redeliveries", metadata(tracked.batch, error))
                tracked.executor.fail(tracked.batch, error: error, willRetry: false)
            }
        }
    }

    // MARK: - Delivery

    /// Decodes a delivered message, checks its rules, runs its batch and
    /// settles the message by its system's semantics.
    private func consume(_ delivery: Delivery, engine: Engine) {
        if delivery.abandoned {
            logger.info(
                "Consumer lost before acknowledging, the message waits for its visibility timeout",
                [(BrokerLogKey.messageID, delivery.id), (LogKey.queue, delivery.queue.label)])
            return
        }
        let task: TaskMessage
        switch EmbeddedMessageCoding.decode(delivery.body) {
        case .failure(let error):
            rejectUndecodable(delivery, error: error)
            return
        case .success(let decoded):
            task = decoded
        }
        let tracked = delivery.tracked ?? adopt(task.batch, delivery: delivery, engine: engine)
        var batch = tracked.batch
        batch.attempt = delivery.delivery
        batch.payload = delivery.body
        let system = delivery.queue.system

        if let error = checkRules(of: task, against: engine.rules) {
            let plan = EmbeddedDeliveryPolicy.planWithoutRetry(system: system, raiseException: batch.raiseException)
            tracked.executor.fail(batch, error: error, willRetry: false, deadLettered: plan == .deadLetter)
            settle(delivery, plan: plan, error: error)
            return
        }

        let plan = EmbeddedDeliveryPolicy.plan(
            system: system, raiseException: batch.raiseException, delivery: delivery.delivery, settings: settings)
        guard case .failed(let error) = tracked.executor.run(batch, willRetryOnFailure: plan.executorWillRetry) else {
            settle(delivery.id, .acknowledge(.done, error: nil), system: system)
            return
        }
        if plan == .deadLetter {
            // NOTE: the executor's `retried` figure is one too high per dead
            // letter. `run` can end a batch as failed but never as dead, so
            // the last attempt ran with willRetryOnFailure (counted as a
            // retry) and the dead letter is reported here.
            tracked.executor.fail(batch, error: error, willRetry: false, deadLettered: true)
        }
        settle(delivery, plan: plan, error: error)
    }

    /// Registers a message that reached a consumer with no engine batch as a
    /// new batch of `engine`, so its outcome is counted and journalled like
    /// any other dispatch.
    private func adopt(_ decoded: Batch, delivery: Delivery, engine: Engine) -> TrackedBatch {
        var batch = decoded
        batch.id = engine.makeBatchID()
        batch.createdAt = engine.executor.now
        batch.attempt = delivery.delivery
        batch.payload = delivery.body
        engine.dispatch(batch, via: ConsumerAdoption(batch: batch))
        let tracked = TrackedBatch(batch: batch, executor: engine.executor)
        shared.withLock { $0.machine.track(delivery.id, tracked) }
        return tracked
    }

    /// Checks the rules named in the message's `dispatchtop` block, or, for
    /// a message without one, that the batch's rules exist.
    private func checkRules(of task: TaskMessage, against rules: RuleSet) -> BatchError? {
        if case .success(let block) = DispatchtopBlock.read(from: task) {
            return block.check(against: rules)
        }
        for id in task.batch.ruleIDs where rules.rule(id: id) == nil {
            return BatchError(kind: .ruleMissing, message: "the configuration has no rule '\(id)'", ruleID: id)
        }
        return nil
    }

    /// Moves a message whose body cannot be decoded to the failed list (the
    /// dead letters, for Dramatiq) with the reason.
    private func rejectUndecodable(_ delivery: Delivery, error: BatchError) {
        let plan = EmbeddedDeliveryPolicy.planWithoutRetry(system: delivery.queue.system, raiseException: true)
        logger.warning(
            "Message body cannot be decoded, moved to the failed list",
            [(BrokerLogKey.messageID, delivery.id), (LogKey.queue, delivery.queue.label), (LogKey.error, error.message)])
        if let tracked = delivery.tracked {
            var batch = tracked.batch
            batch.attempt = delivery.delivery
            tracked.executor.fail(batch, error: error, willRetry: false, deadLettered: plan == .deadLetter)
        }
        let settlement = Settlement.fail(
            error: error.message, deadLettered: plan == .deadLetter, undecodableReason: error.message)
        settle(delivery.id, settlement, system: delivery.queue.system)
    }

    private func settle(_ delivery: Delivery, plan: FailurePlan, error: BatchError) {
        let settlement: Settlement
        switch plan {
        case .acknowledge:
            settlement = .acknowledge(.failed, error: error.description)
        case .redeliver:
            settlement = .redeliver(error: error.description)
        case .retry(let seconds):
            settlement = .delay(seconds: seconds, error: error.description)
        case .fail:
            settlement = .fail(error: error.description, deadLettered: false, undecodableReason: nil)
        case .deadLetter:
            settlement = .fail(error: error.description, deadLettered: true, undecodableReason: nil)
        }
        let metadata = [
            (BrokerLogKey.messageID, delivery.id), (LogKey.queue, delivery.queue.label),
            (LogKey.attempt, String(delivery.delivery)), (LogKey.error, error.description),
        ]
        switch plan {
        case .acknowledge: break
        case .redeliver, .retry: logger.info("Message will be delivered again", metadata)
        case .fail: logger.info("Message moved to the failed list", metadata)
        case .deadLetter: logger.info("Message dead-lettered", metadata)
        }
        settle(delivery.id, settlement, system: delivery.queue.system)
    }

    private func settle(_ id: String, _ settlement: Settlement, system: BrokerSystem) {
        let now = settings.clock()
        shared.withLock { $0.machine.settle(id, settlement, now: now) }
        switch settlement {
        case .redeliver, .delay:
            // A waiting consumer looks again: the message is ready now, or
            // due sooner than what that consumer waits for.
            wakeups[system]?.signal()
        case .acknowledge, .fail:
            break
        }
    }

    private func metadata(_ batch: Batch, _ error: BatchError) -> [(String, String)] {
        [(LogKey.batchID, String(batch.id)), (LogKey.dispatcher, batch.dispatcher), (LogKey.error, error.description)]
    }
}

/// Registers a message that reached a consumer with no engine batch
/// (requeued from the failed list, or stored without an executor) as a new
/// batch of the engine. It hands nothing over: the consumer runs the batch
/// right after.
struct ConsumerAdoption: Dispatcher {
    let name: String
    let supportsBatching = false
    let batchKey: String
    let runsOn = "embedded broker consumer"
    let runsInProcess = false
    let resolvedOptions: JSONObject
    let raiseException: Bool? = nil

    init(batch: Batch) {
        name = batch.dispatcher
        batchKey = batch.batchKey
        resolvedOptions = batch.options
    }

    func dispatch(_ batch: Batch, executor: BatchExecutor) throws(BatchError) {}
}
