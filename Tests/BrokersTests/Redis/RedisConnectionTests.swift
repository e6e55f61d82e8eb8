import Engine
import Foundation
import Testing
import TestSupport

@testable import Brokers

@Suite(.redisServer()) struct RedisConnectionTests {
    private func connection(database: Int = 0, options: RedisConnection.Options = .init()) throws -> RedisConnection {
        let server = try suiteServer()
        return RedisConnection(url: try RedisURL(parsing: server.url(database: database)), options: options)
    }

    @Test func pingsAndSelectsDatabase() throws {
        let first = try connection(database: 0)
        let third = try connection(database: 3)
        try first.ping()
        try first.execute(RedisCommand("SET", "select-check", "zero"))
        try third.execute(RedisCommand("SET", "select-check", "three"))
        #expect(try first.execute(RedisCommand("GET", "select-check")).stringValue == "zero")
        #expect(try third.execute(RedisCommand("GET", "select-check")).stringValue == "three")
    }

    @Test func rejectsDatabaseOutOfRange() throws {
        let redis = try connection(database: 99)
        #expect {
            try redis.ping()
        } throws: { error in
            guard let error = error as? RedisError else { return false }
            return error.kind == .invalidDatabase && error.message.contains("no database 99")
        }
    }

    @Test func roundTripsBinaryValues() throws {
        let redis = try connection()
        var value: [UInt8] = Array(0...255)
        value += [0x0D, 0x0A, 0x00, 0xFF, 0x0D, 0x0A]
        let key: [UInt8] = [0x62, 0x00, 0x0A, 0xFF]
        try redis.execute(RedisCommand("DEL", key))
        try redis.execute(RedisCommand("RPUSH", key, value, [UInt8]()))
        let items = try #require(try redis.execute(RedisCommand("LRANGE", key, 0, -1)).arrayValue)
        #expect(items == [.bulk(value), .bulk([])])
    }

    @Test func pipelinesInOrderAcrossChunks() throws {
        let redis = try connection(options: RedisConnection.Options(pipelineChunk: 7))
        try redis.execute(RedisCommand("DEL", "pipeline-counter"))
        let commands = (0..<50).map { _ in RedisCommand("INCR", "pipeline-counter") }
        let replies = try redis.pipeline(commands)
        #expect(replies == (1...50).map { RedisReply.integer(Int64($0)) })
    }

    @Test func pipelineKeepsErrorRepliesInPlace() throws {
        let redis = try connection()
        try redis.execute(RedisCommand("SET", "pipeline-string", "x"))
        let replies = try redis.pipeline([
            RedisCommand("GET", "pipeline-string"), RedisCommand("LPUSH", "pipeline-string", "y"),
            RedisCommand("GET", "pipeline-string"),
        ])
        #expect(replies[0] == .bulk(Array("x".utf8)))
        #expect(replies[1].errorMessage?.hasPrefix("WRONGTYPE") == true)
        #expect(replies[2] == .bulk(Array("x".utf8)))
    }

    @Test func runsTransaction() throws {
        let redis = try connection()
        try redis.execute(RedisCommand("DEL", "tx-list", "tx-set"))
        let results = try redis.transaction([
            RedisCommand("RPUSH", "tx-list", "a"), RedisCommand("SADD", "tx-set", "m"),
            RedisCommand("RPUSH", "tx-list", "b"),
        ])
        #expect(results == [.integer(1), .integer(1), .integer(2)])
    }

    @Test func transactionRejectsUnknownCommandBeforeRunning() throws {
        let redis = try connection()
        try redis.execute(RedisCommand("DEL", "tx-aborted"))
        #expect {
            try redis.transaction([RedisCommand("RPUSH", "tx-aborted", "a"), RedisCommand("NOSUCHCOMMAND")])
        } throws: { error in
            (error as? RedisError)?.kind == .serverError
        }
        #expect(try redis.execute(RedisCommand("EXISTS", "tx-aborted")) == .integer(0))
        try redis.ping()
    }

    @Test func sharesOneConnectionAcrossThreads() throws {
        let redis = try connection()
        try redis.execute(RedisCommand("DEL", "threads-counter"))
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            for _ in 0..<100 { _ = try? redis.execute(RedisCommand("INCR", "threads-counter")) }
        }
        #expect(try redis.execute(RedisCommand("GET", "threads-counter")).stringValue == "800")
        #expect(redis.connectCount == 1)
    }

    @Test func commandTimeoutDropsTheConnection() throws {
        let redis = try connection(options: RedisConnection.Options(commandTimeout: 0.2))
        try redis.ping()
        #expect {
            try redis.execute(RedisCommand("BLPOP", "never-filled", 1))
        } throws: { error in
            guard let error = error as? RedisError else { return false }
            return error.kind == .connectionLost && error.message.contains("timed out")
        }
        try redis.ping()
        #expect(redis.connectCount == 2)
    }
}

@Suite(.redisServer(password: "s3cret-pass")) struct RedisAuthenticationTests {
    @Test func authenticatesWithPassword() throws {
        let server = try suiteServer()
        let redis = RedisConnection(url: try RedisURL(parsing: server.url()))
        try redis.ping()
    }

    @Test func wrongPasswordFailsClearly() throws {
        let server = try suiteServer()
        let redis = RedisConnection(url: try RedisURL(parsing: "redis://:wrong-pass@127.0.0.1:\(server.port)/0"))
        #expect {
            try redis.ping()
        } throws: { error in
            guard let error = error as? RedisError else { return false }
            return error.kind == .authenticationFailed && error.message.contains("rejected the credentials")
                && !error.message.contains("wrong-pass") && error.message.contains(":***@")
        }
    }

    @Test func missingPasswordFailsClearly() throws {
        let server = try suiteServer()
        let redis = RedisConnection(url: try RedisURL(parsing: "redis://127.0.0.1:\(server.port)/0"))
        #expect {
            try redis.ping()
        } throws: { error in
            guard let error = error as? RedisError else { return false }
            return error.kind == .authenticationFailed && error.message.contains("requires a password")
        }
    }
}
