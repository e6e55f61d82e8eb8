import Engine
import Testing

/// `dispatchtop run --cache redis://...` with the inline dispatcher: the
/// engine itself drops the entries restflow wrote through django-redis.
@Suite(.serialized)
struct RedisCacheInteropTests {
    @Test func inlineRunDropsExactlyInvalidatedKeys() throws {
        let site = try InteropSite(name: "cache")
        defer { site.stop() }
        let filled = try site.fillCache()
        try #require(filled.count == HarnessExpectations.filledKeyCount)
        try #require(HarnessExpectations.survivingKeys.isSubset(of: filled))

        let output = try DispatchtopCommand.run([
            "run", "--config", InteropHarness.configuration, "--events", InteropHarness.events,
            "--cache", site.redisURL, "--journal", site.folder.file("journal.sqlite3"),
        ])
        #expect(output.status == 0, "\(output.transcript)")
        // inline does not batch, so each matching rule is one dispatch.
        #expect(output.ruleIDs == HarnessExpectations.ruleIDs.flatMap { $0.map { [$0] } }, "\(output.transcript)")
        #expect(output.outcomes.allSatisfy { $0 == "done" }, "\(output.transcript)")
        #expect(try site.cacheKeys() == HarnessExpectations.survivingKeys)
        #expect(filled.subtracting(try site.cacheKeys()).count == 10)
    }
}
