import Foundation
import TestSupport
import Testing

/// The private redis-server that tests start, which responds as the process
/// they started or not at all.
@Suite struct RedisServerSupportTests {
    @Test func serverOnAFreePortAnswers() throws {
        let server = try RedisServer()
        defer { server.stop() }

        #expect(server.processID != nil)
        #expect(RedisServer.ping(port: server.port))
    }

    /// A second server on a taken port fails to bind. The first one still
    /// responds on that port, and it must not be taken for the second.
    @Test func takenPortIsNotMistakenForOurs() throws {
        let first = try RedisServer()
        defer { first.stop() }

        #expect(throws: SpawnError.self) { try RedisServer(port: first.port) }
        #expect(RedisServer.ping(port: first.port))
    }

    @Test func stoppedServerNoLongerAnswers() throws {
        let server = try RedisServer(password: "secret-for-test")
        let port = server.port
        #expect(RedisServer.ping(port: port, password: "secret-for-test"))

        server.stop()

        #expect(server.processID == nil)
        #expect(!RedisServer.ping(port: port, password: "secret-for-test"))
    }
}
