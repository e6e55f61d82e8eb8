import Synchronization

/// Injected failures and latency for one dispatcher, for demos.
public struct FaultSetting: Sendable, Equatable {
    /// 0 to 100: the share of batches that fail.
    public var failurePercent: Int
    /// Added before each batch runs, in milliseconds.
    public var addedLatencyMilliseconds: Int

    public init(failurePercent: Int, addedLatencyMilliseconds: Int) {
        self.failurePercent = min(100, max(0, failurePercent))
        self.addedLatencyMilliseconds = min(60_000, max(0, addedLatencyMilliseconds))
    }

    public var isActive: Bool { failurePercent > 0 || addedLatencyMilliseconds > 0 }
}

/// Fault injection per dispatcher name, set from the console.
public final class FaultInjector: Sendable {
    private let settings = Mutex<[String: FaultSetting]>([:])
    /// The number of entries in `settings`, so each batch skips the lock
    /// while no fault is set, which is the usual case.
    private let activeCount = Atomic<Int>(0)

    public init() {}

    public func set(_ setting: FaultSetting, for dispatcher: String) {
        settings.withLock { settings in
            settings[dispatcher] = setting.isActive ? setting : nil
            activeCount.store(settings.count, ordering: .releasing)
        }
    }

    public func setting(for dispatcher: String) -> FaultSetting? {
        guard activeCount.load(ordering: .acquiring) > 0 else { return nil }
        return settings.withLock { $0[dispatcher] }
    }

    public var all: [String: FaultSetting] { settings.withLock { $0 } }

    /// Applies the fault for `dispatcher`: sleeps for the added latency, then
    /// returns an error for the configured share of calls.
    func apply(for dispatcher: String) -> BatchError? {
        guard let setting = setting(for: dispatcher) else { return nil }
        if setting.addedLatencyMilliseconds > 0 {
            usleep(UInt32(setting.addedLatencyMilliseconds) * 1000)
        }
        if setting.failurePercent > 0 && Int.random(in: 0..<100) < setting.failurePercent {
            return BatchError(kind: .fault, message: "injected fault (\(setting.failurePercent)% of \(dispatcher) batches fail)")
        }
        return nil
    }
}

#if canImport(Glibc)
    import Glibc
#endif
