/// A group of write commands sent in one pipeline, plain or as one MULTI/EXEC transaction.
public struct RedisWrite: Sendable, Equatable {
    public var commands: [RedisCommand]
    public var atomic: Bool

    public init(_ commands: [RedisCommand], atomic: Bool) {
        self.commands = commands
        self.atomic = atomic
    }

    /// Appends the commands as sent to `sent`: wrapped in MULTI and EXEC when atomic.
    func appendSentCommands(to sent: inout [RedisCommand]) {
        if atomic { sent.append(RedisWrite.multi) }
        sent += commands
        if atomic { sent.append(RedisWrite.exec) }
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
    /// The commands Redis rejected, while queueing them or inside EXEC, by
    /// position in the write, in order. Empty when every command succeeded
    /// or none ran, which keeps a successful outcome free of allocations.
    private var rejections: [(command: Int, error: RedisError)] = []
    /// Set when a transaction did not run at all: Redis rejected MULTI or a
    /// queued command, or aborted EXEC. None of its commands ran.
    public var abort: RedisError?
    /// The error ``RedisConnection/perform(_:)`` throws for this write: the
    /// first one met in reply order, or nil when every command succeeded.
    public var firstError: RedisError?

    /// Per command, the error Redis rejected it with, or nil for a command that succeeded or never ran.
    public var errors: [RedisError?] {
        var errors = [RedisError?](repeating: nil, count: replies.count)
        for rejection in rejections {
            errors[rejection.command] = rejection.error
        }
        return errors
    }

    /// Reads the replies of `write` (MULTI's and EXEC's included when atomic).
    init(_ write: RedisWrite, replies sent: ArraySlice<RedisReply>, url: RedisURL) {
        precondition(sent.count == write.replyCount, "one reply per sent command")
        guard write.atomic else {
            replies = Array(sent)
            for (index, (command, reply)) in zip(write.commands, sent).enumerated() {
                if let message = reply.errorMessage {
                    record(index, RedisError(.serverError, "Redis at '\(url)' rejected \(command.name): \(message)"))
                }
            }
            return
        }
        let queued = sent.dropFirst().dropLast()
        replies = []
        if let message = sent[sent.startIndex].errorMessage {
            let error = RedisError(.serverError, "Redis at '\(url)' rejected MULTI in a transaction: \(message)")
            firstError = error
            abort = error
        }
        for (index, (command, reply)) in zip(write.commands, queued).enumerated() {
            if let message = reply.errorMessage {
                record(index, RedisError(.serverError, "Redis at '\(url)' rejected \(command.name) in a transaction: \(message)"))
            }
        }
        let exec = sent[sent.endIndex - 1]
        guard case .array(let items) = exec, items.count == write.commands.count else {
            let reason = exec.errorMessage ?? "EXEC returned no results (the transaction was aborted)"
            let error = RedisError(.serverError, "Redis at '\(url)' did not run a transaction: \(reason)")
            abort = abort ?? error
            firstError = firstError ?? error
            replies = Array(queued)
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

    /// Whether Redis rejected at least one of the commands.
    public var hasRejection: Bool { !rejections.isEmpty }

    /// Returns the error Redis rejected command `index` with, or nil.
    public func error(ofCommand index: Int) -> RedisError? {
        rejections.first { $0.command == index }?.error
    }

    private mutating func record(_ index: Int, _ error: RedisError) {
        rejections.append((index, error))
        if firstError == nil { firstError = error }
    }

    public static func == (left: RedisWriteOutcome, right: RedisWriteOutcome) -> Bool {
        left.replies == right.replies && left.errors == right.errors && left.abort == right.abort
            && left.firstError == right.firstError
    }
}
