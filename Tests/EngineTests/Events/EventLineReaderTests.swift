import Foundation
import Synchronization
import TestSupport
import Testing

@testable import Engine

/// What one line of a stream turned into, for comparing whole streams.
enum ReadLine: Equatable, CustomStringConvertible {
    case event(line: Int, pk: JSONValue)
    case rejected(line: Int, reason: String)

    init(_ line: EventLine) {
        switch line {
        case .event(let event, let number): self = .event(line: number, pk: event.pk)
        case .rejected(let number, let error): self = .rejected(line: number, reason: error.reason)
        }
    }

    var description: String {
        switch self {
        case .event(let line, let pk): return "event pk \(pk) on line \(line)"
        case .rejected(let line, let reason): return "line \(line) rejected: \(reason)"
        }
    }
}

@Suite struct EventLineReaderTests {
    static func event(_ pk: Int) -> String {
        #"{"model": "shop.Product", "pk": \#(pk), "signal": "post_save", "fields": {"id": \#(pk)}}"#
    }

    static func readAll(_ reader: EventLineReader) -> [ReadLine] {
        var lines: [ReadLine] = []
        while let line = reader.next() {
            lines.append(ReadLine(line))
        }
        return lines
    }

    static func readAll(_ text: String) throws -> [ReadLine] {
        let directory = try TemporaryDirectory(prefix: "events")
        defer { directory.remove() }
        let path = try directory.write("events.jsonl", text)
        return readAll(try EventLineReader(path: path))
    }

    // MARK: - Files

    @Test func linesComeBackWithTheirNumbers() throws {
        let lines = try Self.readAll([Self.event(1), Self.event(2), Self.event(3)].joined(separator: "\n") + "\n")
        #expect(lines == [.event(line: 1, pk: 1), .event(line: 2, pk: 2), .event(line: 3, pk: 3)])
    }

    @Test func blankLinesAreSkippedButCounted() throws {
        let text = "\n" + Self.event(1) + "\n\n   \n\t\n" + Self.event(2) + "\n"
        #expect(try Self.readAll(text) == [.event(line: 2, pk: 1), .event(line: 6, pk: 2)])
    }

    @Test func malformedLineIsReportedAndReadingGoesOn() throws {
        let text = [Self.event(1), "{not json", #"{"model": "m.M"}"#, Self.event(4)].joined(separator: "\n") + "\n"
        let lines = try Self.readAll(text)
        #expect(lines.count == 4)
        #expect(lines[0] == .event(line: 1, pk: 1))
        #expect(lines[1] == .rejected(line: 2, reason: "invalid JSON at column 2: unexpected 'n', expected a member name in double quotes"))
        #expect(lines[2] == .rejected(line: 3, reason: #""pk" is missing or null; every event needs the record's primary key"#))
        #expect(lines[3] == .event(line: 4, pk: 4))
    }

    @Test func crlfLineEndingsAreAccepted() throws {
        let text = Self.event(1) + "\r\n" + Self.event(2) + "\r\n\r\n" + Self.event(3) + "\r\n"
        #expect(try Self.readAll(text) == [.event(line: 1, pk: 1), .event(line: 2, pk: 2), .event(line: 4, pk: 3)])
    }

    @Test func partialLastLineIsReadAtTheEnd() throws {
        let text = Self.event(1) + "\n" + Self.event(2)
        #expect(try Self.readAll(text) == [.event(line: 1, pk: 1), .event(line: 2, pk: 2)])
    }

    @Test func cutLastLineIsRejectedWithItsNumber() throws {
        let text = Self.event(1) + "\n" + #"{"model": "shop.Pro"#
        let lines = try Self.readAll(text)
        #expect(lines.count == 2)
        #expect(lines.last == .rejected(line: 2, reason: "invalid JSON at column 20: the input ended inside a string"))
    }

    @Test func whitespaceOnlyLastLineIsSkipped() throws {
        #expect(try Self.readAll(Self.event(1) + "\n  \r") == [.event(line: 1, pk: 1)])
    }

    @Test func emptyFileHasNoLines() throws {
        #expect(try Self.readAll("").isEmpty)
    }

    @Test func linesLongerThanOneReadAreAssembled() throws {
        let padding = String(repeating: "x", count: 200_000)
        let long = #"{"model": "shop.Product", "pk": 2, "signal": "post_save", "fields": {"text": "\#(padding)"}}"#
        let lines = try Self.readAll([Self.event(1), long, Self.event(3)].joined(separator: "\n") + "\n")
        #expect(lines == [.event(line: 1, pk: 1), .event(line: 2, pk: 2), .event(line: 3, pk: 3)])
    }

    /// Lines whose ends fall just before, on and just after the 64 KiB of
    /// one read, after a short line that moves them off the buffer's start.
    @Test(arguments: [65_534, 65_535, 65_536, 65_537, 131_072])
    func lineEndingAtTheReadSizeIsRead(length: Int) throws {
        let head = #"{"model": "shop.Product", "pk": 2, "signal": "post_save", "fields": {"text": ""#
        let tail = #""}}"#
        let long = head + String(repeating: "y", count: length - head.utf8.count - tail.utf8.count) + tail
        #expect(long.utf8.count == length)
        let text = [Self.event(1), long, Self.event(3), long].joined(separator: "\n") + "\n" + Self.event(5)
        let lines = try Self.readAll(text)
        #expect(lines == [.event(line: 1, pk: 1), .event(line: 2, pk: 2), .event(line: 3, pk: 3), .event(line: 4, pk: 2), .event(line: 5, pk: 5)])
    }

    @Test func manyLinesAreAllRead() throws {
        let text = (1...5000).map(Self.event).joined(separator: "\n") + "\n"
        let lines = try Self.readAll(text)
        #expect(lines.count == 5000)
        #expect(lines.last == .event(line: 5000, pk: 5000))
    }

    @Test func linesReadCountsEveryLine() throws {
        let directory = try TemporaryDirectory(prefix: "events")
        defer { directory.remove() }
        let path = try directory.write("events.jsonl", "\n" + Self.event(1) + "\n\n")
        let reader = try EventLineReader(path: path)
        _ = Self.readAll(reader)
        #expect(reader.linesRead == 3)
    }

    @Test func missingFileIsAnError() throws {
        let directory = try TemporaryDirectory(prefix: "events")
        defer { directory.remove() }
        let path = directory.file("absent.jsonl")
        let error = #expect(throws: EventSourceError.self) { try EventLineReader(path: path) }
        #expect(error?.message == "cannot open the event file '\(path)': No such file or directory")
    }

    // MARK: - Follow mode

    /// Appends text to a file with one write, as a producer would.
    static func append(_ text: String, to path: String) throws {
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(text.utf8))
    }

    @Test func followModeReadsAppendedLinesUntilStopped() throws {
        let directory = try TemporaryDirectory(prefix: "events")
        defer { directory.remove() }
        let path = try directory.write("events.jsonl", Self.event(1) + "\n")
        let stop = StopFlag()
        let seen = Mutex<[ReadLine]>([])
        let finished = Atomic<Bool>(false)
        let thread = Thread {
            guard let reader = try? EventLineReader(path: path, follow: true, stopFlag: stop, pollIntervalMicroseconds: 5_000)
            else { return }
            while let line = reader.next() {
                seen.withLock { $0.append(ReadLine(line)) }
            }
            finished.store(true, ordering: .releasing)
        }
        thread.start()

        #expect(waitFor(timeout: 10) { seen.withLock { $0.count } == 1 })
        // A partial line is held back until its newline arrives.
        try Self.append(Self.event(2) + "\n" + #"{"model": "shop.Product", "pk": 3,"#, to: path)
        #expect(waitFor(timeout: 10) { seen.withLock { $0.count } == 2 })
        usleep(100_000)
        #expect(seen.withLock { $0.count } == 2)
        let finishedEarly = finished.load(ordering: .acquiring)
        #expect(!finishedEarly)

        try Self.append(#" "signal": "post_save"}"# + "\n\n" + "oops\n", to: path)
        #expect(waitFor(timeout: 10) { seen.withLock { $0.count } == 4 })

        stop.stop()
        #expect(waitFor(timeout: 10) { finished.load(ordering: .acquiring) })
        let lines = seen.withLock { $0 }
        #expect(lines.count == 4)
        #expect(lines[0] == .event(line: 1, pk: 1))
        #expect(lines[1] == .event(line: 2, pk: 2))
        #expect(lines[2] == .event(line: 3, pk: 3))
        #expect(lines[3] == .rejected(line: 5, reason: "invalid JSON at column 1: unexpected 'o', expected a value"))
    }

    @Test func stoppedFollowReaderReturnsNilAtOnce() throws {
        let directory = try TemporaryDirectory(prefix: "events")
        defer { directory.remove() }
        let path = try directory.write("events.jsonl", "")
        let stop = StopFlag()
        stop.stop()
        let reader = try EventLineReader(path: path, follow: true, stopFlag: stop)
        #expect(reader.next().map(ReadLine.init) == nil)
        #expect(stop.isStopped)
    }
}

extension EventLineReaderTests {
    /// Follows `path` on a thread and collects what it reads until stopped.
    final class Follower: Sendable {
        let stop = StopFlag()
        let seen = Mutex<[ReadLine]>([])

        init(path: String) {
            Thread { [self] in
                guard let reader = try? EventLineReader(path: path, follow: true, stopFlag: stop, pollIntervalMicroseconds: 5_000)
                else { return }
                while let line = reader.next() {
                    seen.withLock { $0.append(ReadLine(line)) }
                }
            }.start()
        }

        var count: Int { seen.withLock { $0.count } }
        var lines: [ReadLine] { seen.withLock { $0 } }
    }

    @Test func followModeStartsOverAfterTruncation() throws {
        let directory = try TemporaryDirectory(prefix: "events")
        defer { directory.remove() }
        let path = try directory.write("events.jsonl", Self.event(1) + "\n" + Self.event(2) + "\n")
        let follower = Follower(path: path)
        defer { follower.stop.stop() }
        #expect(waitFor(timeout: 10) { follower.count == 2 })

        try Data().write(to: URL(fileURLWithPath: path))
        usleep(50_000)
        try Self.append(Self.event(3) + "\n", to: path)

        #expect(waitFor(timeout: 10) { follower.count == 3 })
        #expect(follower.lines.last == .event(line: 1, pk: 3))
    }

    @Test func followModeReopensAReplacedFile() throws {
        let directory = try TemporaryDirectory(prefix: "events")
        defer { directory.remove() }
        let path = try directory.write("events.jsonl", Self.event(1) + "\n")
        let follower = Follower(path: path)
        defer { follower.stop.stop() }
        #expect(waitFor(timeout: 10) { follower.count == 1 })

        try FileManager.default.moveItem(atPath: path, toPath: directory.file("events.jsonl.1"))
        _ = try directory.write("events.jsonl", Self.event(7) + "\n" + Self.event(8) + "\n")

        #expect(waitFor(timeout: 10) { follower.count == 3 })
        #expect(follower.lines.suffix(2) == [.event(line: 1, pk: 7), .event(line: 2, pk: 8)])
    }
}
