/// A group of write commands sent in one pipeline, plain or as one MULTI/EXEC transaction.
public struct RedisWrite: Sendable, Equatable {
    public var commands: [RedisCommand]
    public var atomic: Bool

    public init(_ commands: [RedisCommand], atomic: Bool) {
        self.commands = commands
        self.atomic = atomic
    }

    /// The commands as sent: wrapped in MULTI and EXEC when atomic.
    var sentCommands: [RedisCommand] {
        atomic ? [RedisWrite.multi] + commands + [RedisWrite.exec] : commands
    }

    /// How many replies the write gets: one per command, plus MULTI's and EXEC's when atomic.
    var replyCount: Int { commands.count + (atomic ? 2 : 0) }

    static let multi = RedisCommand("MULTI")
    static let exec = RedisCommand("EXEC")
}

/// The outcome of one ``RedisWrite`` whose replies were read.
public struct RedisWriteOutcome: Sendable, Equatable {
    /// Per command, its result: the reply of a plain command, or the
    /// command's item of the EXEC reply. When the transaction did not run,
    /// the reply Redis gave while queueing the command.
    public var replies: [RedisReply]
    /// Per command, the error Redis rejected it with, while queueing it or
    /// inside EXEC; nil for a command that succeeded or never ran.
    public var errors: [RedisError?]
    /// Set when a transaction did not run at all: Redis rejected MULTI or a
    /// queued command, or aborted EXEC. None of its commands ran.
    public var abort: RedisError?
    /// The error ``RedisConnection/perform(_:)`` throws for this write: the
    /// first one met in reply order, or nil when every command succeeded.
    public var firstError: RedisError?

    /// Reads the replies of `write` (MULTI's and EXEC's included when atomic).
    init(_ write: RedisWrite, replies sent: [RedisReply], url: RedisURL) {
        precondition(sent.count == write.replyCount, "one reply per sent command")
        errors = Array(repeating: nil, count: write.commands.count)
        guard write.atomic else {
            replies = sent
            for (index, (command, reply)) in zip(write.commands, sent).enumerated() {
                if let message = reply.errorMessage {
                    record(index, RedisError(.serverError, "Redis at '\(url)' rejected \(command.name): \(message)"))
                }
            }
            return
        }
        replies = Array(sent[1..<(sent.count - 1)])
        if let message = sent[0].errorMessage {
            let error = RedisError(.serverError, "Redis at '\(url)' rejected MULTI in a transaction: \(message)")
            firstError = error
            abort = error
        }
        for (index, (command, reply)) in zip(write.commands, replies).enumerated() {
            if let message = reply.errorMessage {
                record(index, RedisError(.serverError, "Redis at '\(url)' rejected \(command.name) in a transaction: \(message)"))
            }
        }
        let exec = sent[sent.count - 1]
        guard case .array(let items) = exec, items.count == write.commands.count else {
            let reason = exec.errorMessage ?? "EXEC returned no results (the transaction was aborted)"
            let error = RedisError(.serverError, "Redis at '\(url)' did not run a transaction: \(reason)")
            abort = abort ?? error
            firstError = firstError ?? error
            return
        }
        // The transaction ran: a command that failed inside it did not undo the others.
        replies = items
        for (index, (command, item)) in zip(write.commands, items).enumerated() {
            if let message = item.errorMessage {
                record(index, RedisError(.serverError, "Redis at '\(url)' rejected \(command.name) inside EXEC: \(message)"))
            }
        }
    }

    private mutating func record(_ index: Int, _ error: RedisError) {
        errors[index] = error
        if firstError == nil { firstError = error }
    }
}
