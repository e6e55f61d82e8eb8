import Dispatch
import Foundation
import Synchronization

/// One encoded group of a pipelined enqueue: each message's encoding, and the writes that send them.
struct EncodedGroup: Sendable {
    var encoded: [Result<RedisBroker.EncodedTask, BrokerError>]
    var writes: EnqueueGroup
}

/// Encodes the messages of a pipelined enqueue on the calling thread and on
/// a helper thread at once, and hands them out group by group, in order.
///
/// Encoding an RQ job costs more than Redis takes to store it (zlib takes
/// most of it), so on a machine with two or more cores two threads
/// encode while the connection writes. Both threads claim one message at a
/// time, in order, so the two share each group and a group is ready about
/// one message after its last message was claimed. The calling thread requests
/// the groups in order with ``group(_:)``. While its group is not ready,
/// it encodes the next unclaimed message instead of waiting, so it returns
/// within one message's encoding of the group becoming ready and the
/// connection can send it at once. Encoding whole groups per thread instead
/// let a finished group wait until the calling thread had encoded a group
/// of its own, and Redis then sat idle between bursts of groups.
final class GroupEncoder: Sendable {
    /// The messages to encode, numbered from 0.
    let count: Int
    /// Messages per group. The last group may have fewer.
    let groupSize: Int
    private let encode: @Sendable (Int) -> Result<RedisBroker.EncodedTask, BrokerError>
    private let nextUnclaimed = Atomic<Int>(0)
    private let cancelled = Atomic<Bool>(false)

    private struct State {
        /// Per message, its encoding, until its group is handed out.
        var encoded: [Result<RedisBroker.EncodedTask, BrokerError>?]
        /// Per group, how many of its messages are not encoded yet.
        var pending: [Int]
        /// The group the calling thread waits for on ``groupReady``, if any.
        var awaited: Int?
    }

    private let state: Mutex<State>
    /// Signalled once for each wait of the calling thread, when the awaited group is ready.
    private let groupReady = DispatchSemaphore(value: 0)
    private let helperRunning = Atomic<Bool>(false)
    private let helperDone = DispatchSemaphore(value: 0)

    /// - Parameter encode: encodes the message at a position, from 0 to `count - 1`.
    init(count: Int, groupSize: Int, encode: @escaping @Sendable (Int) -> Result<RedisBroker.EncodedTask, BrokerError>) {
        precondition(groupSize > 0, "a group has at least one message")
        self.count = count
        self.groupSize = groupSize
        self.encode = encode
        let groupCount = (count + groupSize - 1) / groupSize
        let pending = (0..<groupCount).map { min(groupSize, count - $0 * groupSize) }
        state = Mutex(State(encoded: Array(repeating: nil, count: count), pending: pending, awaited: nil))
    }

    /// How many groups ``group(_:)`` hands out.
    var groupCount: Int { (count + groupSize - 1) / groupSize }

    /// Whether this machine has two cores or more. Read once, because
    /// Foundation reads the cgroup's CPU limit from files on each call.
    private static let hasSeveralCores = ProcessInfo.processInfo.activeProcessorCount >= 2

    /// Starts the helper thread when there are at least two groups and two cores; call ``finish()`` after the last group.
    func startHelper() {
        guard groupCount >= 2, Self.hasSeveralCores else { return }
        helperRunning.store(true, ordering: .relaxed)
        DispatchQueue.global(qos: .userInitiated).async { [self] in
            while !cancelled.load(ordering: .relaxed), encodeNextUnclaimed() {}
            helperDone.signal()
        }
    }

    /// Returns the encodings of group `index`, in message order, encoding
    /// later messages while the helper still encodes one of this group.
    func group(_ index: Int) -> [Result<RedisBroker.EncodedTask, BrokerError>] {
        precondition(index < groupCount, "group \(index) of \(groupCount)")
        while true {
            let waits = state.withLock { state -> Bool? in
                if state.pending[index] == 0 { return nil }
                // Only when every message is claimed does the calling thread wait.
                guard nextUnclaimed.load(ordering: .relaxed) >= count else { return false }
                state.awaited = index
                return true
            }
            switch waits {
            case nil: return take(index)
            case false?: _ = encodeNextUnclaimed()
            case true?:
                // A semaphore wait with a timeout is not used to poll: on
                // Linux, libdispatch turns it into a timed futex wait, and
                // in a profile the thread slept there once per group.
                groupReady.wait()
            }
        }
    }

    /// Removes and returns the encodings of group `index`, which is ready.
    private func take(_ index: Int) -> [Result<RedisBroker.EncodedTask, BrokerError>] {
        state.withLock { state in
            let positions = (index * groupSize)..<min((index + 1) * groupSize, count)
            var group: [Result<RedisBroker.EncodedTask, BrokerError>] = []
            group.reserveCapacity(positions.count)
            for position in positions {
                // take() moves the encoding out, so its buffers are not retained and released again.
                guard let encoded = state.encoded[position].take() else { preconditionFailure("a ready group has every encoding") }
                group.append(encoded)
            }
            return group
        }
    }

    /// Stops the helper from claiming more messages and waits for it to end.
    func finish() {
        cancelled.store(true, ordering: .relaxed)
        if helperRunning.load(ordering: .relaxed) {
            helperDone.wait()
        }
    }

    /// Claims and encodes the next unclaimed message. Returns false when every message is claimed.
    private func encodeNextUnclaimed() -> Bool {
        let position = nextUnclaimed.wrappingAdd(1, ordering: .relaxed).oldValue
        guard position < count else { return false }
        let encoded = encode(position)
        let group = position / groupSize
        let wakesCaller = state.withLock { state -> Bool in
            state.encoded[position] = encoded
            state.pending[group] -= 1
            guard state.pending[group] == 0, state.awaited == group else { return false }
            state.awaited = nil
            return true
        }
        if wakesCaller { groupReady.signal() }
        return true
    }
}
