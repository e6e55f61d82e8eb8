import Engine
import Testing

/// The checks every system's suite makes on its producer-check record.
extension ProducerCheck {
    /// Checks that dispatchtop printed four dispatches, for events 0 to 3 with the expected rules, all `sent`.
    func expectFourBatchesSent(sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(dispatch.status == 0, "\(dispatch.transcript)", sourceLocation: sourceLocation)
        #expect(dispatch.events == [0, 1, 2, 3], "\(dispatch.transcript)", sourceLocation: sourceLocation)
        #expect(dispatch.ruleIDs == HarnessExpectations.ruleIDs, sourceLocation: sourceLocation)
        let outcomes = dispatch.outcomes
        #expect(outcomes == ["sent", "sent", "sent", "sent"], "\(dispatch.transcript)", sourceLocation: sourceLocation)
        let dispatchers = Set(dispatch.lines.compactMap { $0["dispatcher"]?.stringValue })
        #expect(dispatchers == [system.dispatcher], sourceLocation: sourceLocation)
    }

    /// Checks that the system's own library decodes the four queued messages, in order, with restflow's rule ids.
    func expectLibraryDecodesQueuedMessages(sourceLocation: SourceLocation = #_sourceLocation) throws {
        let state = try queued.get()
        let messages = try queuedMessages()
        #expect(state["ready"]?.intValue == 4, "\(state)", sourceLocation: sourceLocation)
        let ruleIDs = messages.map(InteropSystem.restflowRuleIDs(ofDecoded:))
        #expect(ruleIDs == HarnessExpectations.restflowRuleIDs, sourceLocation: sourceLocation)
        let functions = Set(messages.compactMap { ($0["function"] ?? $0["task"] ?? $0["actor"])?.stringValue })
        #expect(functions.count == 1, "\(functions)", sourceLocation: sourceLocation)
    }

    /// Checks that the worker dropped exactly the ten invalidated keys and kept the other five.
    func expectExactKeysDropped(sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(filledKeys.count == HarnessExpectations.filledKeyCount, sourceLocation: sourceLocation)
        #expect(HarnessExpectations.survivingKeys.isSubset(of: filledKeys), sourceLocation: sourceLocation)
        #expect(keysBeforeWorker == filledKeys, "keys changed before the worker ran", sourceLocation: sourceLocation)
        let timedOut = "the worker did not finish the four jobs within 60 s\n\(workerLog)"
        #expect(drained, "\(timedOut)", sourceLocation: sourceLocation)
        #expect(workerExitStatus == 0, "\(workerLog)", sourceLocation: sourceLocation)
        #expect(keysAfterWorker == HarnessExpectations.survivingKeys, sourceLocation: sourceLocation)
        #expect(filledKeys.subtracting(keysAfterWorker).count == 10, sourceLocation: sourceLocation)
    }

    /// Checks that the system's library reports an empty queue, three
    /// successes where it records them, and one failure, which is rule 5 with its error text.
    func expectOneFailureRecorded(sourceLocation: SourceLocation = #_sourceLocation) throws {
        let state = try stateAfterWorker.get()
        #expect(state["ready"]?.intValue == 0, "\(state)", sourceLocation: sourceLocation)
        if let succeeded = state["succeeded"], !succeeded.isNull {
            #expect(succeeded.intValue == 3, "\(state)", sourceLocation: sourceLocation)
        }
        let failures = state["failed"]?.arrayValue ?? []
        try #require(failures.count == 1, "\(state)\n\(workerLog)", sourceLocation: sourceLocation)
        let error = failures[0]["error"]?.stringValue ?? ""
        #expect(error.contains(HarnessExpectations.failureText), "\(failures[0])", sourceLocation: sourceLocation)
        let ruleIDs = InteropSystem.restflowRuleIDs(ofDecoded: failures[0])
        #expect(ruleIDs == [5], "\(failures[0])", sourceLocation: sourceLocation)
    }
}
