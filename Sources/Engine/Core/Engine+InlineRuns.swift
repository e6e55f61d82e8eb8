/// The engine's own path for rules of the built-in inline dispatcher.
///
/// An inline rule runs on the thread that processes the event, so its
/// whole dispatch is the rule's cache change. Building, copying and freeing
/// a ``Batch`` value, and taking the tracker's lock once per rule, used to
/// cost more than the change itself. Here a rule that succeeds is kept as a
/// compact ``BatchTracker/InlineRun`` on the stack, and the event's runs are
/// recorded together, under one lock, before any other dispatch call of the
/// event and at its end. A failing rule, an injected fault or a caller
/// waiting for an outcome takes the usual path with a full batch.
extension Engine {
    /// The inline runs of one event not yet recorded, in dispatch order.
    struct InlineRuns {
        let buffer: UnsafeMutableBufferPointer<BatchTracker.InlineRun>
        var count = 0
        /// When the last run ended, while nothing else has happened since:
        /// the next run starts then, which saves a clock read per rule.
        var lastFinished: Double?

        init(buffer: UnsafeMutableBufferPointer<BatchTracker.InlineRun>) {
            self.buffer = buffer
        }
    }

    /// Runs `rule`, whose dispatcher is the inline one, as batch `id`: what
    /// ``InlineDispatcher`` does with a batch of that rule, with the same
    /// figures, log lines, journal entry and error policy.
    /// - Returns: the failure, when the error policy raises it.
    func runInline(_ rule: RuleEvaluator.FiredRule, id: UInt64, origin: BatchOrigin, runs: inout InlineRuns) -> BatchError? {
        let compiled = rules.compiled[rule.index]
        let started = runs.lastFinished ?? executor.now
        if let error = executor.runner.runSolo(compiled, arguments: rule.arguments, batchID: id) {
            // Earlier runs are recorded first, so the tracker and observer
            // see batches in dispatch order.
            record(&runs, origin: origin)
            let batch = soloBatch(compiled, arguments: rule.arguments, origin: origin, id: id)
            executor.failedOnCallingThread(batch, error: error, startedAt: started)
            guard batch.raiseException else { return nil }
            logRaised(batch, error)
            return error
        }
        let finished = executor.now
        (runs.buffer.baseAddress.unsafelyUnwrapped + runs.count).initialize(
            to: BatchTracker.InlineRun(
                id: id, rule: rule.index, model: origin.model, pk: origin.pk, signal: origin.signal,
                eventIndex: origin.index, createdAt: origin.createdAt, startedAt: started, finishedAt: finished,
                arguments: rule.arguments))
        runs.count += 1
        runs.lastFinished = finished
        return nil
    }

    /// Records the pending runs with the tracker and the observer. It also
    /// clears the time the last run ended, because other work follows.
    func record(_ runs: inout InlineRuns, origin: BatchOrigin) {
        runs.lastFinished = nil
        guard runs.count > 0 else { return }
        let pending = UnsafeMutableBufferPointer(rebasing: runs.buffer[0..<runs.count])
        executor.ranInline(UnsafeBufferPointer(pending)) { run in
            soloBatch(rules.compiled[run.rule], arguments: run.arguments, origin: origin, id: run.id)
        }
        pending.deinitialize()
        runs.count = 0
    }
}
