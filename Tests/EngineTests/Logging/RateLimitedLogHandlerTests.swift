import Foundation
import Testing

@testable import Engine

@Suite struct RateLimitedLogHandlerTests {
    private func record(_ message: String, at seconds: Double, level: LogLevel = .info) -> LogRecord {
        LogRecord(time: Date(timeIntervalSince1970: seconds), level: level, label: "test", message: message, metadata: [])
    }

    @Test func repeatsBeyondTheLimitAreDropped() {
        let memory = MemoryLogHandler()
        let handler = RateLimitedLogHandler(memory, limit: 3, window: 10)
        for index in 0..<10 { handler.emit(record("Batch failed", at: 100 + Double(index) * 0.1)) }
        #expect(memory.all.count == 3)
    }

    @Test func nextWindowReportsTheDroppedCount() {
        let memory = MemoryLogHandler()
        let handler = RateLimitedLogHandler(memory, limit: 2, window: 10)
        for index in 0..<5 { handler.emit(record("Batch failed", at: 100 + Double(index))) }
        handler.emit(record("Batch failed", at: 111))
        let messages = memory.all.map(\.message)
        #expect(messages == ["Batch failed", "Batch failed", "Repeated lines dropped", "Batch failed"])
        #expect(memory.all[2].metadata.first { $0.0 == LogKey.count }?.1 == "3")
    }

    @Test func differentMessagesHaveTheirOwnLimit() {
        let memory = MemoryLogHandler()
        let handler = RateLimitedLogHandler(memory, limit: 1, window: 10)
        handler.emit(record("one", at: 100))
        handler.emit(record("two", at: 100))
        handler.emit(record("one", at: 100.5))
        handler.emit(record("two", at: 100.5, level: .warning))
        #expect(memory.all.map(\.message) == ["one", "two", "two"])
    }
}
