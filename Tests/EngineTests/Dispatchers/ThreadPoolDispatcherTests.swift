import Dispatch
import Foundation
import Synchronization
import Testing

@testable import Engine

@Suite struct ThreadPoolDispatcherTests {
    @Test func poolRunsEveryItemOnItsThreads() {
        let pool = WorkerPool(size: 2, name: "pool-test")
        let running = Atomic<Int>(0)
        let peak = Atomic<Int>(0)
        let done = DispatchGroup()
        for _ in 0..<40 {
            done.enter()
            pool.submit {
                let now = running.wrappingAdd(1, ordering: .relaxed).newValue
                peak.max(now)
                usleep(1_000)
                running.wrappingSubtract(1, ordering: .relaxed)
                done.leave()
            }
        }
        #expect(done.wait(timeout: .now() + 30) == .success)
        let highest = peak.load(ordering: .relaxed)
        #expect(highest >= 1)
        #expect(highest <= 2)
        #expect(pool.backlog == 0)
        #expect(pool.size == 2)
    }

    @Test func sharedPoolKeepsTheSizeOfItsFirstUse() {
        let first = WorkerPool.shared(requestedSize: 3)
        let second = WorkerPool.shared(requestedSize: 9)
        #expect(first === second)
        #expect(second.size == first.size)
    }

    @Test func dispatcherReportsTheSharedPoolSize() throws {
        let dispatcher = try ThreadPoolDispatcher(options: DispatcherOptions(dispatcher: "threadpool"))
        #expect(dispatcher.runsOn == "pool of \(WorkerPool.shared(requestedSize: 4).size) threads")
    }
}

extension Atomic where Value == Int {
    /// Raises the stored value to `candidate` when it is larger.
    fileprivate func max(_ candidate: Int) {
        var current = load(ordering: .relaxed)
        while candidate > current {
            let (exchanged, original) = compareExchange(
                expected: current, desired: candidate, ordering: .relaxed)
            if exchanged { return }
            current = original
        }
    }
}
