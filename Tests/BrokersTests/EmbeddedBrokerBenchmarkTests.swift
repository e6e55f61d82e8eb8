import Brokers
import Testing

@Suite struct EmbeddedBrokerBenchmarkTests {
    @Test(arguments: BrokerSystem.allCases)
    func measureRunsEveryBatch(_ system: BrokerSystem) throws {
        let result = try EmbeddedBrokerBenchmark.measure(batches: 300, system: system, timeout: 60)

        #expect(result.system == system)
        #expect(result.batches == 300)
        #expect(result.seconds > 0)
        #expect(result.batchesPerSecond == Double(300) / result.seconds)
        #expect(result.latencyP50 <= result.latencyP90)
        #expect(result.latencyP90 <= result.latencyP99)
        #expect(result.latencyP99 <= result.latencyMax)
        #expect(result.latencyMax > 0)
    }
}
