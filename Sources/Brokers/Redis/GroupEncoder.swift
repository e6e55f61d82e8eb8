import Dispatch
import Foundation
import Synchronization

/// One encoded group of a pipelined enqueue: each message's encoding, and the writes that send them.
struct EncodedGroup: Sendable {
    var encoded: [Result<RedisBroker.EncodedTask, BrokerError>]
    var writes: EnqueueGroup
}

/// Encodes the groups of a pipelined enqueue on the calling thread and on a
/// helper thread at once, and hands them out in order.
///
/// Encoding an RQ job costs more than sending it (zlib alone takes about
/// half), so on a machine with two or more cores two threads encode while
/// the connection writes. Each thread claims the next group not yet
/// claimed. The calling thread requests the groups in order with
/// ``group(_:)``. While the helper still encodes the group it requests, it
/// encodes a later group itself instead of waiting.
final class GroupEncoder: Sendable {
    let groupCount: Int
    private let encodeGroup: @Sendable (Int) -> EncodedGroup
    private let nextUnclaimed = Atomic<Int>(0)
    private let cancelled = Atomic<Bool>(false)
    private let finished: Mutex<[EncodedGroup?]>
    /// Signalled once per group, when its encoding is stored in ``finished``;
    /// waited on only when the group is not there yet.
    private let ready: [DispatchSemaphore]
    private let helperRunning = Atomic<Bool>(false)
    private let helperDone = DispatchSemaphore(value: 0)

    /// - Parameter encodeGroup: encodes the group at an index, from 0 to `groupCount - 1`.
    init(groupCount: Int, encodeGroup: @escaping @Sendable (Int) -> EncodedGroup) {
        self.groupCount = groupCount
        self.encodeGroup = encodeGroup
        finished = Mutex(Array(repeating: nil, count: groupCount))
        ready = (0..<groupCount).map { _ in DispatchSemaphore(value: 0) }
    }

    /// Starts the helper thread when there are at least two groups and two cores; call ``finish()`` after the last group.
    func startHelper() {
        guard groupCount >= 2, ProcessInfo.processInfo.activeProcessorCount >= 2 else { return }
        helperRunning.store(true, ordering: .relaxed)
        DispatchQueue.global(qos: .userInitiated).async { [self] in
            while !cancelled.load(ordering: .relaxed), encodeNextUnclaimed() {}
            helperDone.signal()
        }
    }

    /// Returns group `index`, encoding later groups while the helper still encodes this one.
    func group(_ index: Int) -> EncodedGroup {
        precondition(index < groupCount, "group \(index) of \(groupCount)")
        while true {
            if let group = take(index) { return group }
            if !encodeNextUnclaimed() {
                // Every group is claimed, so the helper is encoding this one.
                // A semaphore wait with a timeout is not used to poll: on Linux,
                // libdispatch turns it into a timed futex wait, and in a profile
                // the thread slept there once per group, which cost a quarter
                // of the throughput.
                ready[index].wait()
            }
        }
    }

    /// Removes and returns group `index` once it is encoded.
    private func take(_ index: Int) -> EncodedGroup? {
        finished.withLock { groups in
            defer { groups[index] = nil }
            return groups[index]
        }
    }

    /// Stops the helper from claiming more groups and waits for it to end.
    func finish() {
        cancelled.store(true, ordering: .relaxed)
        if helperRunning.load(ordering: .relaxed) {
            helperDone.wait()
        }
    }

    /// Claims and encodes the next unclaimed group; returns false when every group is claimed.
    private func encodeNextUnclaimed() -> Bool {
        let index = nextUnclaimed.wrappingAdd(1, ordering: .relaxed).oldValue
        guard index < groupCount else { return false }
        let group = encodeGroup(index)
        finished.withLock { $0[index] = group }
        ready[index].signal()
        return true
    }
}
