import Testing
import TestSupport

/// Starts one private redis-server for a whole suite and stops it after the
/// suite's last test; tests read it from ``RedisServerTrait/current``.
struct RedisServerTrait: SuiteTrait, TestScoping {
    var password: String?

    var isRecursive: Bool { false }

    @TaskLocal static var current: RedisServer?

    func provideScope(
        for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void
    ) async throws {
        let server = try RedisServer(password: password)
        defer { server.stop() }
        try await Self.$current.withValue(server) {
            try await function()
        }
    }
}

extension Trait where Self == RedisServerTrait {
    /// Returns a trait that starts a private redis-server for the suite, with `requirepass` when a password is given.
    static func redisServer(password: String? = nil) -> RedisServerTrait {
        RedisServerTrait(password: password)
    }
}

/// Returns the suite's server, and fails the test when the suite has no `.redisServer()` trait.
func suiteServer(sourceLocation: SourceLocation = #_sourceLocation) throws -> RedisServer {
    try #require(RedisServerTrait.current, "the suite needs the .redisServer() trait", sourceLocation: sourceLocation)
}
