import Engine
import Testing
import TestSupport

@testable import Brokers

@Suite(.redisServer()) struct RedisBenchmarksTests {
    @Test(arguments: BrokerSystem.allCases)
    func enqueueFiguresAndCleanUp(system: BrokerSystem) throws {
        let server = try suiteServer()
        let url = try RedisURL(parsing: server.url(database: 1 + BrokerSystem.allCases.firstIndex(of: system)!))
        let figures = try RedisBenchmarks.enqueueThroughput(url: url, system: system, messages: 250, pipelineDepth: 100)
        #expect(figures.messages == 250)
        #expect(figures.pipelineDepth == 100)
        #expect(figures.messageBytes > 100)
        #expect(figures.messagesPerSecond > 0)
        let redis = RedisConnection(url: url)
        #expect(try redis.execute(RedisCommand("DBSIZE")) == .integer(0))
    }

    @Test func prefixDropFiguresAndCleanUp() throws {
        let server = try suiteServer()
        let url = try RedisURL(parsing: server.url(database: 9))
        let figures = try RedisBenchmarks.prefixDropRate(url: url, keys: 2000, functions: 200, drops: 50, threads: 4)
        #expect(figures.drops == 50)
        #expect(figures.keysDeleted == 500)
        #expect(figures.passes >= 1)
        #expect(figures.passes <= 50)
        #expect(try RedisConnection(url: url).execute(RedisCommand("DBSIZE")) == .integer(0))
    }

    @Test(arguments: BrokerSystem.allCases)
    func encodeFiguresNeedNoServer(system: BrokerSystem) throws {
        let figures = try RedisBenchmarks.encodeThroughput(system: system, messages: 200)
        #expect(figures.messagesPerSecond > 0)
        #expect(figures.messageBytes > 100)
    }
}
