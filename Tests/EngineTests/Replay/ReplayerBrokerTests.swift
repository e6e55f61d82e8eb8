import Foundation
import TestSupport
import Testing

@testable import Engine

/// A failed batch of a broker dispatcher records the broker it was sent to,
/// and a replay that would send it to another broker skips it. Sending it
/// there would reach none of the workers that drop the stale entries, yet
/// mark the failure resolved.
@Suite struct ReplayerBrokerTests {
    /// One rule on a dispatcher that hands work out of the process, as a
    /// broker dispatcher does, and one on `inline`.
    static let document = """
        {"functions": [
          {"name": "shop.views.detail", "key": {"partition": ["product_id"]},
           "rules": [{"id": "sent", "model": "shop.Product", "field_mapping": {"product_id": "id"},
                      "dispatcher": "recording", "dispatcher_config": {"in_process": false}}]},
          {"name": "shop.views.list", "key": {"partition": ["product_id"]},
           "rules": [{"id": "local", "model": "shop.Product", "field_mapping": {"product_id": "id"}, "dispatcher": "inline"}]}]}
        """

    static let alwaysFail = FaultSetting(failurePercent: 100, addedLatencyMilliseconds: 0)

    /// Runs one event with both dispatchers failing and returns the
    /// journal entries, the broker dispatcher's first.
    static func failBoth(_ harness: EngineHarness, _ journal: FailureJournal) throws -> (sent: FailureRecord, local: FailureRecord) {
        harness.engine.faults.set(alwaysFail, for: "recording")
        harness.engine.faults.set(alwaysFail, for: "inline")
        harness.engine.process(saveEvent(pk: 3, fields: object(("id", 3))))
        #expect(harness.engine.waitUntilIdle(timeout: 10))
        harness.engine.faults.set(FaultSetting(failurePercent: 0, addedLatencyMilliseconds: 0), for: "recording")
        harness.engine.faults.set(FaultSetting(failurePercent: 0, addedLatencyMilliseconds: 0), for: "inline")
        let entries = try journal.entries(FailureFilter())
        let sent = try #require(entries.first { $0.batch.dispatcher == "recording" })
        let local = try #require(entries.first { $0.batch.dispatcher == "inline" })
        return (sent, local)
    }

    @Test func onlyBrokerBatchesRecordTheBroker() throws {
        let temporary = try TemporaryJournal()
        defer { temporary.directory.remove() }
        let harness = try EngineHarness(Self.document, journal: temporary.journal, brokerLabel: "embedded")

        let (sent, local) = try Self.failBoth(harness, temporary.journal)

        #expect(sent.broker == "embedded")
        #expect(local.broker == nil)
        // The embedded broker's consumers run the rules here, against this cache.
        #expect(sent.cache == "memory")
        #expect(local.cache == "memory")
    }

    @Test func remoteBrokerBatchesRecordNoCache() throws {
        let temporary = try TemporaryJournal()
        defer { temporary.directory.remove() }
        let harness = try EngineHarness(
            Self.document, journal: temporary.journal, brokerLabel: "redis://127.0.0.1:6390/0", brokerIsRemote: true)

        let (sent, local) = try Self.failBoth(harness, temporary.journal)

        #expect(sent.broker == "redis://127.0.0.1:6390/0")
        #expect(sent.cache == nil)
        #expect(local.cache == "memory")
    }

    @Test func entrySentToAnotherBrokerIsSkipped() throws {
        let temporary = try TemporaryJournal()
        defer { temporary.directory.remove() }
        let failing = try EngineHarness(Self.document, journal: temporary.journal, brokerLabel: "redis://127.0.0.1:6390/0")
        let (sent, local) = try Self.failBoth(failing, temporary.journal)
        // The replay runs in a process started without --broker.
        let replaying = try EngineHarness(Self.document, journal: temporary.journal, brokerLabel: "embedded")

        let summary = Replayer(engine: replaying.engine).replay(
            ids: [sent.id, local.id], options: ReplayOptions(ratePerSecond: nil, outcomeTimeout: 10))

        #expect(summary.items.map(\.outcome.label) == ["skipped", "done"])
        #expect(summary.items.first?.outcome.detail == """
            it was sent to the broker redis://127.0.0.1:6390/0, and this replay uses embedded; \
            replay with --broker set to that broker (redis://127.0.0.1:6390/0, with its password if it has one)
            """)
        #expect(try temporary.journal.entry(sent.id)?.status == .open)
        #expect(try temporary.journal.entry(sent.id)?.replayCount == 0)
        #expect(replaying.log.all.isEmpty, "the skipped batch reached its dispatcher")
    }

    @Test func entrySentToTheSameBrokerRuns() throws {
        let temporary = try TemporaryJournal()
        defer { temporary.directory.remove() }
        let harness = try EngineHarness(Self.document, journal: temporary.journal, brokerLabel: "redis://127.0.0.1:6390/0")
        let (sent, _) = try Self.failBoth(harness, temporary.journal)

        let summary = Replayer(engine: harness.engine).replay(
            ids: [sent.id], options: ReplayOptions(ratePerSecond: nil, outcomeTimeout: 10))

        #expect(summary.items.map(\.outcome.label) == ["done"])
        #expect(try temporary.journal.entry(sent.id)?.status == .resolved)
    }

    @Test func brokerOverrideOfAnInvalidatorRuleIsSkipped() throws {
        let temporary = try TemporaryJournal()
        defer { temporary.directory.remove() }
        let invalidators = InvalidatorRegistry.builtIn
        invalidators.register("read_only", FailingInvalidator())
        let document = """
            {"settings": {"dispatchers": {"recording": {"in_process": false}}},
             "functions": [{"name": "shop.views.search",
               "rules": [{"id": "search", "model": "shop.Product", "invalidator": "read_only"}]}]}
            """
        let harness = try EngineHarness(document, journal: temporary.journal, invalidators: invalidators)
        harness.engine.process(saveEvent(pk: 3))
        let entry = try #require(try temporary.journal.entries(FailureFilter()).first)

        let summary = Replayer(engine: harness.engine).replay(
            ids: [entry.id], options: ReplayOptions(dispatcherOverride: "recording", ratePerSecond: nil, outcomeTimeout: 10))

        #expect(summary.items.map(\.outcome.label) == ["skipped"])
        let reason = summary.items.first?.outcome.detail ?? ""
        #expect(reason.hasPrefix(Replayer.overrideConflictPrefix), "\(reason)")
        #expect(reason.contains("'recording' cannot replay it: rule 'search' has the invalidator 'read_only'"), "\(reason)")
        #expect(harness.log.all.isEmpty, "the batch reached the broker dispatcher")
        #expect(try temporary.journal.entry(entry.id)?.status == .open)
    }

    @Test func embeddedEntryNamesItsFix() {
        let reason = Replayer.otherBrokerReason(recorded: "embedded", current: "redis://127.0.0.1:6390/0")
        #expect(reason.hasPrefix(Replayer.otherBrokerPrefix))
        #expect(reason.hasSuffix("replay without --broker, with the embedded broker it used"))
    }
}
