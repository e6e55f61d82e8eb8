import Engine

/// The writes of one group of a pipelined enqueue, and the tasks each command serves.
///
/// Celery, Dramatiq and django-q tasks keep the write a single enqueue
/// sends. The group's RQ jobs share one MULTI/EXEC built by
/// ``RQJob/enqueueManyCommands(_:keyPrefix:)``, so Redis runs one
/// transaction for them instead of one per job, and a worker still never
/// pops an id whose hash is missing.
struct EnqueueGroup {
    /// The outcome of one task of the group.
    enum TaskOutcome: Equatable {
        case sent
        /// Redis rejected a command the task needs.
        case rejected(RedisError)
        /// Redis did not run the transaction because it rejected another
        /// task's command, so this task's commands did not run either.
        case notRun
        /// The connection failed before the task's replies were read, so
        /// whether it was stored is unknown.
        case unknown(RedisError)
    }

    /// The tasks that need the commands of one write.
    private enum Owners {
        /// Every command serves this one task.
        case task(Int)
        /// Per command, the tasks that need it.
        case perCommand([[Int]])

        /// Returns the tasks that need command `index`.
        func tasks(ofCommand index: Int) -> [Int] {
            switch self {
            case .task(let position): return [position]
            case .perCommand(let positions): return positions[index]
            }
        }

        /// Every task that needs one of the commands, once each.
        var allTasks: [Int] {
            switch self {
            case .task(let position): return [position]
            case .perCommand(let positions): return Array(Set(positions.joined())).sorted()
            }
        }
    }

    private(set) var writes: [RedisWrite] = []
    /// Per write, the tasks its commands serve.
    private var owners: [Owners] = []
    /// Per task, whether it has a write: false for a task that could not be encoded.
    private var hasWrite: [Bool]

    /// Builds the writes for `tasks`. A task that could not be encoded gets no write.
    init(_ tasks: [Result<RedisBroker.EncodedTask, BrokerError>], rqKeyPrefix: String) {
        var hasWrite: [Bool] = []
        hasWrite.reserveCapacity(tasks.count)
        var jobs: [RQJob.QueuedJob] = []
        var jobPositions: [Int] = []
        for (position, task) in tasks.enumerated() {
            guard case .success(let encoded) = task else {
                hasWrite.append(false)
                continue
            }
            hasWrite.append(true)
            switch encoded.delivery {
            case .write(let write):
                writes.append(write)
                owners.append(.task(position))
            case .rqJob(let job):
                jobs.append(job)
                jobPositions.append(position)
            }
        }
        self.hasWrite = hasWrite
        guard !jobs.isEmpty else { return }
        let grouped = RQJob.enqueueManyCommands(jobs, keyPrefix: rqKeyPrefix)
        writes.append(RedisWrite(grouped.map(\.command), atomic: true))
        owners.append(.perCommand(grouped.map { command in command.jobs.map { jobPositions[$0] } }))
    }

    /// Returns each task's outcome from its writes' outcomes, or nil for a
    /// task that had no write. The outcomes stop short of the last writes
    /// when the connection failed.
    ///
    /// When Redis aborted a transaction without rejecting any of its
    /// commands, each of its tasks counts as rejected. So every aborted
    /// transaction rejects at least one task, and a caller that retries
    /// ``TaskOutcome/notRun`` tasks always makes progress.
    func taskOutcomes(_ outcomes: ArraySlice<RedisWriteOutcome>, connectionFailure: RedisError?) -> [TaskOutcome?] {
        var result: [TaskOutcome?] = hasWrite.map { $0 ? .sent : nil }
        for (index, writeOwners) in owners.enumerated() {
            guard index < outcomes.count else {
                let failure = connectionFailure ?? RedisError(
                    .connectionLost, "The connection to Redis failed before this message's reply was read. Check that Redis is running.")
                for position in writeOwners.allTasks { result[position] = .unknown(failure) }
                continue
            }
            let outcome = outcomes[outcomes.startIndex + index]
            if outcome.hasRejection {
                for command in writes[index].commands.indices {
                    guard let error = outcome.error(ofCommand: command) else { continue }
                    for position in writeOwners.tasks(ofCommand: command) where result[position] == .sent {
                        result[position] = .rejected(error)
                    }
                }
            }
            guard let abort = outcome.abort else { continue }
            for position in writeOwners.allTasks where result[position] == .sent {
                result[position] = outcome.hasRejection ? .notRun : .rejected(abort)
            }
        }
        return result
    }
}
