import Foundation
import Synchronization

/// One line read from an event stream.
public enum EventLine: Sendable {
    case event(ChangeEvent, line: Int)
    case rejected(line: Int, error: EventDecodingError)
}

/// A flag another thread sets to stop a blocking reader.
public final class StopFlag: Sendable {
    private let flag = Atomic<Bool>(false)
    public init() {}
    public func stop() { flag.store(true, ordering: .releasing) }
    public var isStopped: Bool { flag.load(ordering: .acquiring) }
}

/// Reads JSON Lines events from a file or standard input.
///
/// Blank lines are skipped; a line that is not a valid event comes back as
/// ``EventLine/rejected(line:error:)`` with its 1-based line number, and
/// reading goes on. In follow mode, end of file waits for appended lines
/// (like `tail -f`) until the stop flag is set. A partial last line is held
/// back until its newline arrives, or returned at end of input when not following.
///
/// Used from one thread; only ``StopFlag`` crosses threads.
public final class EventLineReader {
    private var descriptor: Int32
    private let ownsDescriptor: Bool
    private let path: String
    /// Bytes read from the open file so far, to notice a truncation.
    private var offset: Int = 0
    private var inode: UInt64 = 0
    /// Times a followed file was truncated or replaced and read again from its start.
    public private(set) var restarts = 0
    private let follow: Bool
    private let stopFlag: StopFlag
    private let pollInterval: UInt32
    /// The bytes read: `buffer[start..<filled]` are not yet consumed. The
    /// array keeps its size, so that a read needs no zero-filled room first;
    /// it doubles when one line does not fit.
    private var buffer = [UInt8](repeating: 0, count: 1 << 16)
    private var start = 0
    private var filled = 0
    private var lineNumber = 0
    private var atEnd = false
    /// Behind a pointer, so that passing it to the decoder for every line
    /// needs no runtime exclusivity check, as a stored property would.
    private let decodingCache: UnsafeMutablePointer<EventLineCache>

    /// Opens `path`, or standard input when `path` is "-".
    public init(path: String, follow: Bool = false, stopFlag: StopFlag = StopFlag(), pollIntervalMicroseconds: UInt32 = 50_000) throws {
        if path == "-" {
            descriptor = STDIN_FILENO
            ownsDescriptor = false
        } else {
            let opened = open(path, O_RDONLY | O_CLOEXEC)
            guard opened >= 0 else {
                let reason = String(cString: strerror(errno))
                throw EventSourceError(message: "cannot open the event file '\(path)': \(reason)")
            }
            descriptor = opened
            ownsDescriptor = true
        }
        self.path = path
        self.follow = follow
        self.stopFlag = stopFlag
        pollInterval = pollIntervalMicroseconds
        decodingCache = .allocate(capacity: 1)
        decodingCache.initialize(to: EventLineCache())
        inode = Self.inode(of: descriptor)
    }

    deinit {
        if ownsDescriptor { close(descriptor) }
        decodingCache.deinitialize(count: 1)
        decodingCache.deallocate()
    }

    /// Returns the next event or rejected line, or nil at the end of input
    /// (never in follow mode, unless stopped).
    public func next() -> EventLine? {
        while true {
            if let line = nextBufferedLine() {
                lineNumber += 1
                if let decoded = decode(line) { return decoded }
                continue
            }
            if stopFlag.isStopped { return nil }
            if atEnd && !follow { return flushPartialLine() }
            let count = fill()
            if count == 0 {
                if !follow {
                    atEnd = true
                    continue
                }
                if reopenIfReplacedOrTruncated() { continue }
                usleep(pollInterval)
            }
        }
    }

    /// The number of lines consumed so far.
    public var linesRead: Int { lineNumber }

    /// Decodes the line in `range` of the buffer, without its line break.
    /// Returns nil for a blank line: empty, or only spaces, tabs and carriage returns.
    private func decode(_ range: Range<Int>) -> EventLine? {
        let number = lineNumber
        let cache = decodingCache
        return buffer.withUnsafeBufferPointer { buffer -> EventLine? in
            var line = UnsafeBufferPointer(rebasing: buffer[range])
            guard line.contains(where: { $0 != 0x20 && $0 != 0x09 && $0 != 0x0D }) else { return nil }
            if line.last == 0x0D { line = UnsafeBufferPointer(rebasing: line.dropLast()) }
            do throws(EventDecodingError) {
                return .event(try EventDecoder.decode(line, cache: &cache.pointee), line: number)
            } catch {
                return .rejected(line: number, error: error)
            }
        }
    }

    private func nextBufferedLine() -> Range<Int>? {
        guard start < filled else { return nil }
        let found = buffer.withUnsafeBufferPointer { bytes -> Int? in
            guard let hit = memchr(bytes.baseAddress! + start, 0x0A, filled - start) else { return nil }
            return bytes.baseAddress!.distance(to: hit.assumingMemoryBound(to: UInt8.self))
        }
        guard let newline = found else { return nil }
        let line = start..<newline
        start = newline + 1
        return line
    }

    private func flushPartialLine() -> EventLine? {
        guard start < filled else { return nil }
        let line = start..<filled
        start = filled
        lineNumber += 1
        return decode(line)
    }

    /// Reads more bytes, compacting consumed ones first; returns the count read.
    /// Starts again from the beginning when the followed file was truncated
    /// or replaced (log rotation), as `tail -F` does. A partial line read
    /// before belongs to the old content and is dropped. Line numbers restart.
    private func reopenIfReplacedOrTruncated() -> Bool {
        guard ownsDescriptor else { return false }
        var status = stat()
        guard stat(path, &status) == 0 else { return false }
        if UInt64(status.st_ino) != inode {
            let opened = open(path, O_RDONLY | O_CLOEXEC)
            guard opened >= 0 else { return false }
            close(descriptor)
            descriptor = opened
            inode = Self.inode(of: opened)
        } else if Int(status.st_size) < offset {
            lseek(descriptor, 0, SEEK_SET)
        } else {
            return false
        }
        offset = 0
        start = 0
        filled = 0
        lineNumber = 0
        restarts += 1
        return true
    }

    private static func inode(of descriptor: Int32) -> UInt64 {
        var status = stat()
        return fstat(descriptor, &status) == 0 ? UInt64(status.st_ino) : 0
    }

    private func fill() -> Int {
        // Moves the unconsumed part of the buffer, a partial line, to its start.
        if start > 0 {
            let remaining = filled - start
            buffer.withUnsafeMutableBytes { bytes in
                let base = bytes.baseAddress!
                base.copyMemory(from: base + start, byteCount: remaining)
            }
            start = 0
            filled = remaining
        }
        if filled == buffer.count {
            buffer.append(contentsOf: repeatElement(0, count: buffer.count))
        }
        let room = buffer.count - filled
        let count = buffer.withUnsafeMutableBytes { raw in
            read(descriptor, raw.baseAddress! + filled, room)
        }
        filled += max(count, 0)
        offset += max(count, 0)
        return max(count, 0)
    }
}

/// An event source that cannot be opened or read.
public struct EventSourceError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
