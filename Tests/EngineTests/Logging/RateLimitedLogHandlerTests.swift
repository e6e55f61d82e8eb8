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

    @Test func anotherMessageReportsAnEndedWindow() {
        let memory = MemoryLogHandler()
        let handler = RateLimitedLogHandler(memory, limit: 1, window: 10)
        for index in 0..<4 { handler.emit(record("Requeued failed message", at: 100 + Double(index))) }
        handler.emit(record("Requeue finished", at: 105))
        handler.emit(record("Engine stopped", at: 111))
        let messages = memory.all.map(\.message)
        #expect(messages == ["Requeued failed message", "Requeue finished", "Repeated lines dropped", "Engine stopped"])
        #expect(memory.all[2].metadata.first { $0.0 == "message" }?.1 == "Requeued failed message")
        #expect(memory.all[2].metadata.first { $0.0 == LogKey.count }?.1 == "3")
    }

    @Test func flushReportsCountsOfOpenWindows() {
        let memory = MemoryLogHandler()
        let handler = RateLimitedLogHandler(memory, limit: 2, window: 10)
        for index in 0..<7 { handler.emit(record("Batch failed", at: 100 + Double(index) * 0.1)) }
        handler.flush()
        handler.flush()
        let dropped = memory.all.filter { $0.message == "Repeated lines dropped" }
        #expect(dropped.count == 1, "a count is reported once")
        #expect(dropped.first?.metadata.first { $0.0 == LogKey.count }?.1 == "5")
        handler.emit(record("Batch failed", at: 111))
        #expect(memory.all.filter { $0.message == "Repeated lines dropped" }.count == 1, "nothing is left to report after a flush")
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
