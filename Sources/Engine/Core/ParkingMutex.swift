import Glibc

/// A lock around a value whose waiters sleep in the kernel at once instead
/// of spinning first, for state that many threads update in short bursts.
///
/// `Mutex` from Synchronization spins before it sleeps. When more threads
/// than cores contend (the thread pool's workers and the event thread on a
/// small machine), the holder is often descheduled. The spinning waiters then
/// burn the CPU it needs, and in a profiled thread-pool run that spinning
/// took about half the CPU time. A default glibc mutex tries once, then
/// waits on a futex.
public final class ParkingMutex<Value>: @unchecked Sendable {
    // Both pointers keep fixed addresses for the lock's lifetime, because a
    // pthread mutex must not move. The value is read and written only with
    // the mutex held, so the unchecked Sendable is sound.
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let value: UnsafeMutablePointer<Value>

    public init(_ initial: Value) {
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
        value = .allocate(capacity: 1)
        value.initialize(to: initial)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
        value.deinitialize(count: 1)
        value.deallocate()
    }

    /// Runs `body` with the value while holding the lock.
    @inline(__always)
    public func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value.pointee)
    }
}
