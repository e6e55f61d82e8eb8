import Foundation
import Synchronization

/// Where the events come from.
public enum EventSourceKind: Sendable {
    /// The built-in generator at a target rate (events per second).
    case demo(rate: Double, seed: UInt64)
    /// A JSON Lines file, or standard input for "-"; `follow` waits for appended lines.
    case file(path: String, follow: Bool)
    /// No events: the engine only runs what the operator triggers or replays,
    /// as when watching a real broker.
    case none
}

/// Feeds events from a source into the engine on its own thread, with the
/// pause and rate controls the console offers.
public final class EventPump: Sendable {
    public let kind: EventSourceKind
    private let engine: Engine
    private let stopFlag = StopFlag()
    private let paused = Atomic<Bool>(false)
    private let finishedFlag = Atomic<Bool>(false)
    /// Events per second for the demo, stored as bits of a Double.
    private let rateBits: Atomic<UInt64>
    private let started = Atomic<Bool>(false)
    private let done = DispatchSemaphore(value: 0)

    /// Unfinished batches at which the demo generator pauses until consumers catch up.
    public static let demoBacklogLimit = 20_000
    public static let minimumRate = 1.0
    public static let maximumRate = 200_000.0

    public init(engine: Engine, kind: EventSourceKind) {
        self.engine = engine
        self.kind = kind
        if case .demo(let rate, _) = kind {
            rateBits = Atomic(rate.bitPattern)
        } else {
            rateBits = Atomic(0)
        }
    }

    /// "demo 40/s", "file events.jsonl (following)", "stdin".
    public var label: String {
        switch kind {
        case .demo: return "demo \(Self.formatRate(rate))/s"
        case .none: return "none"
        case .file(let path, let follow):
            let name = path == "-" ? "stdin" : (path as NSString).lastPathComponent
            return follow ? "\(name) (following)" : name
        }
    }

    public var isDemo: Bool {
        if case .demo = kind { return true }
        return false
    }

    /// False when the console only watches: no demo, no file, nothing to pause.
    public var hasSource: Bool {
        if case .none = kind { return false }
        return true
    }

    /// The demo's target rate in events per second; 0 for files.
    public var rate: Double { Double(bitPattern: rateBits.load(ordering: .relaxed)) }

    public var isPaused: Bool { paused.load(ordering: .relaxed) }

    /// True once a file source has been read to its end (never for the demo or follow mode).
    public var isFinished: Bool { finishedFlag.load(ordering: .acquiring) }

    public func setPaused(_ value: Bool) {
        paused.store(value, ordering: .relaxed)
    }

    /// Doubles (or halves) the demo rate within its bounds; returns the new rate.
    @discardableResult
    public func adjustRate(faster: Bool) -> Double {
        guard isDemo else { return 0 }
        let updated = min(Self.maximumRate, max(Self.minimumRate, faster ? rate * 2 : rate / 2))
        rateBits.store(updated.bitPattern, ordering: .relaxed)
        return updated
    }

    /// Starts reading on a background thread.
    public func start() throws {
        let body: @Sendable () -> Void
        switch kind {
        case .demo(_, let seed):
            let configuration = engine.rules.configuration
            body = { [self] in
                var generator = DemoEventGenerator(configuration: configuration, seed: seed)
                runDemo(&generator)
            }
        case .file(let path, let follow):
            let reader = try EventLineReader(path: path, follow: follow, stopFlag: stopFlag)
            let box = ReaderBox(reader)
            body = { [self] in runFile(box.reader) }
        case .none:
            return
        }
        let thread = Thread { [done] in
            body()
            done.signal()
        }
        thread.name = "event-pump"
        started.store(true, ordering: .releasing)
        thread.start()
    }

    /// Stops reading and waits up to a second for the thread to end.
    public func stop() {
        stopFlag.stop()
        if started.load(ordering: .acquiring) {
            _ = done.wait(timeout: .now() + 1)
        }
    }

    private func runDemo(_ generator: inout DemoEventGenerator) {
        var index = 0
        var next = Date().timeIntervalSince1970
        while !stopFlag.isStopped {
            if isPaused {
                usleep(50_000)
                next = Date().timeIntervalSince1970
                continue
            }
            // The demo must not outrun its consumers without bound: past this
            // many unfinished batches it waits, as a real application would
            // stall on a full queue, and memory stays bounded.
            if engine.unfinishedBatches > Self.demoBacklogLimit {
                usleep(10_000)
                next = Date().timeIntervalSince1970
                continue
            }
            let now = Date().timeIntervalSince1970
            if next > now {
                usleep(UInt32(min(0.05, next - now) * 1_000_000))
                continue
            }
            // Catch up in small bursts when behind, but never build a backlog
            // longer than a quarter second.
            next = max(next, now - 0.25)
            guard let event = generator.next() else { return }
            engine.process(event, index: index)
            index += 1
            next += 1 / max(rate, Self.minimumRate)
        }
    }

    private func runFile(_ reader: EventLineReader) {
        var index = 0
        while !stopFlag.isStopped {
            if isPaused {
                usleep(50_000)
                continue
            }
            guard let line = reader.next() else { break }
            switch line {
            case .event(let event, _):
                engine.process(event, index: index)
                index += 1
            case .rejected(let number, let error):
                engine.recordRejectedLine(number, error: error)
            }
        }
        finishedFlag.store(true, ordering: .releasing)
    }

    static func formatRate(_ rate: Double) -> String {
        rate >= 1000 ? String(format: "%.0fk", rate / 1000) : String(format: "%.0f", rate)
    }
}

/// Moves the single-threaded reader onto the pump thread, which is then its only user.
private final class ReaderBox: @unchecked Sendable {
    let reader: EventLineReader
    init(_ reader: EventLineReader) { self.reader = reader }
}
