@preconcurrency import CHiredis
import Dispatch
import Engine
import Foundation
import Synchronization

/// One Redis connection over hiredis, shared by threads through a mutex.
///
/// The connection opens on first use and runs AUTH and SELECT from the URL.
/// hiredis leaves a context unusable after any I/O error or timeout, so the
/// context is then dropped and the next call reconnects. Before each use
/// the socket is polled: an idle connection that has become readable was
/// closed by the server (a restart, a timeout, CLIENT KILL), and is
/// replaced before a command is sent on it.
///
/// A failed connection attempt starts an exponential backoff (from
/// ``Options/initialBackoff`` doubling up to ``Options/maximumBackoff``).
/// While it runs, calls fail at once with the last connection error instead
/// of waiting for a connect timeout, so callers see an outage quickly.
///
/// Calls from several threads are serialized: one command or pipeline at a
/// time. Use one connection per producer and reuse it.
public final class RedisConnection: Sendable {
    /// Timeouts and backoff, in seconds.
    public struct Options: Sendable, Equatable {
        public var connectTimeout: Double
        /// The socket read and write timeout for each command.
        public var commandTimeout: Double
        public var initialBackoff: Double
        public var maximumBackoff: Double
        /// Commands sent before their replies are read; bounds the memory a long pipeline uses.
        public var pipelineChunk: Int

        public init(
            connectTimeout: Double = 1, commandTimeout: Double = 5, initialBackoff: Double = 0.1,
            maximumBackoff: Double = 5, pipelineChunk: Int = 512
        ) {
            self.connectTimeout = connectTimeout
            self.commandTimeout = commandTimeout
            self.initialBackoff = initialBackoff
            self.maximumBackoff = maximumBackoff
            self.pipelineChunk = pipelineChunk
        }
    }

    private struct State {
        var context: UnsafeMutablePointer<redisContext>?
        var consecutiveFailures = 0
        /// Monotonic nanoseconds before which no new connection is attempted.
        var retryAt: UInt64 = 0
        var lastFailure: RedisError?
        var connects = 0
    }

    public let url: RedisURL
    public let options: Options
    private let logger: Logger
    private let state = Mutex(State())

    public init(url: RedisURL, options: Options = Options(), logger: Logger = .disabled) {
        self.url = url
        self.options = options
        self.logger = logger
    }

    deinit {
        state.withLock { state in
            if let context = state.context { redisFree(context) }
            state.context = nil
        }
    }

    // MARK: - Commands

    /// Sends one command and returns its reply.
    /// - Throws: ``RedisError``; an error reply is thrown as `serverError`.
    @discardableResult
    public func execute(_ command: RedisCommand) throws(RedisError) -> RedisReply {
        let reply = try pipeline([command])[0]
        if let message = reply.errorMessage {
            throw RedisError(.serverError, "Redis at '\(url)' rejected \(command.name): \(message)")
        }
        return reply
    }

    /// Sends commands in one pipeline and returns their replies in order.
    ///
    /// Error replies are returned in place, not thrown, so one rejected
    /// command does not hide the others' results.
    /// - Throws: ``RedisError`` when the connection fails; commands sent
    ///   before the failure may have run.
    public func pipeline(_ commands: [RedisCommand]) throws(RedisError) -> [RedisReply] {
        guard !commands.isEmpty else { return [] }
        let url = url
        let chunkSize = max(1, options.pipelineChunk)
        return try withContext { context throws(RedisError) -> [RedisReply] in
            try Self.roundTrip(commands, on: context, url: url, chunkSize: chunkSize)
        }
    }

    /// Runs commands as one MULTI/EXEC transaction and returns their results.
    /// - Throws: ``RedisError`` `serverError` when Redis rejects a command
    ///   while queueing it (nothing runs) or when a command fails inside
    ///   EXEC (Redis does not roll back, so the other commands have run).
    @discardableResult
    public func transaction(_ commands: [RedisCommand]) throws(RedisError) -> [RedisReply] {
        try perform([RedisWrite(commands, atomic: true)])[0]
    }

    /// Sends groups of write commands in one pipeline, each group plain or
    /// wrapped in MULTI/EXEC, and returns each group's results.
    ///
    /// - Important: the groups are independent: when a later one fails, the
    ///   earlier ones stay applied.
    /// - Throws: ``RedisError`` `serverError` for the first command Redis
    ///   rejected, or `connectionFailed`/`connectionLost`.
    @discardableResult
    public func perform(_ writes: [RedisWrite]) throws(RedisError) -> [[RedisReply]] {
        var flat: [RedisCommand] = []
        flat.reserveCapacity(writes.reduce(0) { $0 + $1.replyCount })
        for write in writes {
            write.appendSentCommands(to: &flat)
        }
        let replies = try pipeline(flat)
        var results: [[RedisReply]] = []
        results.reserveCapacity(writes.count)
        var index = 0
        for write in writes {
            let outcome = RedisWriteOutcome(write, replies: replies[index..<(index + write.replyCount)], url: url)
            if let error = outcome.firstError { throw error }
            results.append(outcome.replies)
            index += write.replyCount
        }
        return results
    }

    /// The result of ``sendStreamed(_:)``.
    public struct StreamedOutcome: Sendable {
        /// One outcome per write whose replies were read, in the order sent.
        public var outcomes: [RedisWriteOutcome]
        /// Set when the connection could not be opened or broke. The writes
        /// after the last outcome may or may not have run.
        public var connectionFailure: RedisError?
    }

    /// Sends groups of write commands as `produce` returns them, and returns
    /// what became of each write.
    ///
    /// Each group is written to the socket before `produce` is called for
    /// the next one, so Redis works on the first groups while the caller
    /// builds the later ones. Replies are read once `pipelineChunk` commands
    /// are waiting, and at the end. When Redis runs on this machine (a
    /// loopback host), the replies of every group but the last
    /// ``localGroupsAhead`` are also read after each write, which waits for
    /// them. The calling thread then sleeps while Redis catches up and
    /// leaves it a core. Without that wait the encoders took both cores,
    /// and Redis still had most groups to store when the last one was sent.
    /// For a Redis on another host the wait would cost a network round trip
    /// per group, so there replies are read only per chunk and at the end.
    /// The connection stays locked throughout, so no other thread's command
    /// can come between. When the connection
    /// fails, `produce` is not called again, and the outcomes read before
    /// the failure are returned with it.
    /// - Parameter produce: returns the next group, or nil when there is none.
    public func sendStreamed(_ produce: () -> [RedisWrite]?) -> StreamedOutcome {
        let url = url
        let chunkSize = max(1, options.pipelineChunk)
        let groupsAhead = url.isLoopback ? Self.localGroupsAhead : nil
        var writes: [RedisWrite] = []
        var replies: [RedisReply] = []
        var connectionFailure: RedisError?
        do throws(RedisError) {
            try withContext { context throws(RedisError) -> Void in
                // The commands sent, and the index of the first whose reply is not read yet.
                var waiting: [RedisCommand] = []
                var next = 0
                // Per group written, the end of its commands in `waiting`.
                var groupEnds: [Int] = []
                while let group = produce() {
                    var flat: [RedisCommand] = []
                    for write in group {
                        write.appendSentCommands(to: &flat)
                    }
                    writes += group
                    waiting += flat
                    try Self.append(flat[...], to: context, url: url)
                    try Self.flush(context, url: url)
                    groupEnds.append(waiting.count)
                    if let ahead = groupsAhead, groupEnds.count > ahead {
                        while next < groupEnds[groupEnds.count - 1 - ahead] {
                            replies.append(try Self.readReply(from: context, for: waiting[next], url: url))
                            next += 1
                        }
                    }
                    if waiting.count - next >= chunkSize {
                        while next < waiting.count {
                            replies.append(try Self.readReply(from: context, for: waiting[next], url: url))
                            next += 1
                        }
                    }
                }
                while next < waiting.count {
                    replies.append(try Self.readReply(from: context, for: waiting[next], url: url))
                    next += 1
                }
            }
        } catch {
            connectionFailure = error
        }
        var outcomes: [RedisWriteOutcome] = []
        outcomes.reserveCapacity(writes.count)
        var index = 0
        for write in writes {
            // After a connection failure, the last writes have no replies, or only some.
            guard index + write.replyCount <= replies.count else { break }
            outcomes.append(RedisWriteOutcome(write, replies: replies[index..<(index + write.replyCount)], url: url))
            index += write.replyCount
        }
        return StreamedOutcome(outcomes: outcomes, connectionFailure: connectionFailure)
    }

    /// Groups ``sendStreamed(_:)`` keeps unanswered at a Redis on this machine.
    ///
    /// With two, Redis has the next group queued while the caller waits for
    /// the replies of the one before. In `dispatchtop-bench redis-cpu-rq`
    /// runs on 2 cores (RQ jobs, 100 per call) one and two gave about the
    /// same rate and three and four less, though the spread between runs
    /// was about 10 %.
    static let localGroupsAhead = 2

    private func execResults(_ exec: RedisReply, commands: [RedisCommand]) throws(RedisError) -> [RedisReply] {
        guard case .array(let items) = exec else {
            let reason = exec.errorMessage ?? "EXEC returned no results (the transaction was aborted)"
            throw RedisError(.serverError, "Redis at '\(url)' did not run a transaction: \(reason)")
        }
        for (command, item) in zip(commands, items) {
            if let message = item.errorMessage {
                throw RedisError(.serverError, "Redis at '\(url)' rejected \(command.name) inside EXEC: \(message)")
            }
        }
        return items
    }

    /// The result of ``watchedTransaction(watching:reading:then:)``.
    public enum WatchedOutcome: Sendable, Equatable {
        /// The transaction ran; these are its results.
        case committed([RedisReply])
        /// The decision step chose not to write; these are the read replies.
        case cancelled([RedisReply])
        /// A watched key changed between the read and EXEC, so nothing ran.
        case conflicted
    }

    /// Runs an optimistic check-and-set while holding the connection.
    ///
    /// It sends WATCH `keys` and the `reads`, and `decide` turns their
    /// replies into the commands to run (nil cancels). Those run in
    /// MULTI/EXEC, which Redis aborts when a watched key changed in between.
    ///
    /// Other threads' commands cannot interleave, which matters because any
    /// EXEC on the connection would clear the WATCH.
    public func watchedTransaction(
        watching keys: [String], reading reads: [RedisCommand],
        then decide: ([RedisReply]) -> [RedisCommand]?
    ) throws(RedisError) -> WatchedOutcome {
        let url = url
        let chunkSize = max(1, options.pipelineChunk)
        let (readReplies, commands, execReply) = try withContext {
            context throws(RedisError) -> ([RedisReply], [RedisCommand]?, RedisReply?) in
            let watched = try Self.roundTrip([RedisCommand("WATCH", keys)] + reads, on: context, url: url, chunkSize: chunkSize)
            let readReplies = Array(watched.dropFirst())
            guard let commands = decide(readReplies) else {
                _ = try Self.roundTrip([RedisCommand("UNWATCH")], on: context, url: url, chunkSize: chunkSize)
                return (readReplies, nil, nil)
            }
            let wrapped = [RedisCommand("MULTI")] + commands + [RedisCommand("EXEC")]
            let replies = try Self.roundTrip(wrapped, on: context, url: url, chunkSize: chunkSize)
            for (command, reply) in zip(wrapped, replies.dropLast()) {
                if let message = reply.errorMessage {
                    throw RedisError(.serverError, "Redis at '\(url)' rejected \(command.name) in a transaction: \(message)")
                }
            }
            return (readReplies, commands, replies.last)
        }
        guard let commands, let execReply else { return .cancelled(readReplies) }
        if execReply.isNull { return .conflicted }
        return .committed(try execResults(execReply, commands: commands))
    }

    /// Sends PING and checks that the reply is PONG.
    public func ping() throws(RedisError) {
        let reply = try execute(RedisCommand("PING"))
        guard reply.stringValue == "PONG" else {
            throw RedisError(.unexpectedReply, "Redis at '\(url)' replied to PING with \(reply).")
        }
    }

    /// Whether a connection is open now (it may still turn out to be closed by the server).
    public var isConnected: Bool { state.withLock { $0.context != nil } }

    /// The last connection failure, while the connection is down.
    public var lastFailure: RedisError? {
        state.withLock { $0.context == nil ? $0.lastFailure : nil }
    }

    /// How many connections have been opened, the first included; tests use it to see reconnects.
    public var connectCount: Int { state.withLock { $0.connects } }

    /// Closes the connection; the next call opens a new one without waiting for a backoff.
    public func close() {
        state.withLock { state in
            if let context = state.context { redisFree(context) }
            state.context = nil
            state.retryAt = 0
        }
    }

    // MARK: - Connection state

    private func withContext<R: Sendable>(
        _ body: (UnsafeMutablePointer<redisContext>) throws(RedisError) -> R
    ) throws(RedisError) -> R {
        try state.withLock { state throws(RedisError) -> R in
            if let context = state.context, Self.isClosedByPeer(context) {
                logger.debug("Redis connection closed by the server", [(LogKey.url, url.description)])
                redisFree(context)
                state.context = nil
            }
            let context: UnsafeMutablePointer<redisContext>
            if let open = state.context {
                context = open
            } else {
                context = try connect(&state)
            }
            do throws(RedisError) {
                return try body(context)
            } catch {
                if context.pointee.err != 0 {
                    logger.info("Redis connection lost", [(LogKey.url, url.description), (LogKey.error, error.message)])
                    redisFree(context)
                    state.context = nil
                }
                throw error
            }
        }
    }

    private func connect(_ state: inout State) throws(RedisError) -> UnsafeMutablePointer<redisContext> {
        let now = DispatchTime.now().uptimeNanoseconds
        if now < state.retryAt, let last = state.lastFailure {
            throw last
        }
        do throws(RedisError) {
            let context = try openContext()
            state.context = context
            state.connects += 1
            if state.connects > 1 {
                logger.info(
                    "Redis reconnected",
                    [(LogKey.url, url.description), (LogKey.attempt, String(state.consecutiveFailures + 1))])
            } else {
                logger.debug("Redis connected", [(LogKey.url, url.description)])
            }
            state.consecutiveFailures = 0
            state.retryAt = 0
            state.lastFailure = nil
            return context
        } catch {
            state.consecutiveFailures += 1
            let exponent = Double(min(state.consecutiveFailures - 1, 30))
            let delay = min(options.initialBackoff * pow(2, exponent), options.maximumBackoff)
            state.retryAt = DispatchTime.now().uptimeNanoseconds + UInt64(delay * 1e9)
            state.lastFailure = error
            logger.info(
                "Redis connection failed",
                [
                    (LogKey.url, url.description), (LogKey.error, error.message),
                    (LogKey.attempt, String(state.consecutiveFailures)), (LogKey.delay, String(Int(delay * 1000))),
                ])
            throw error
        }
    }

    /// Connects, sets the command timeout, and runs AUTH and SELECT.
    private func openContext() throws(RedisError) -> UnsafeMutablePointer<redisContext> {
        guard let context = redisConnectWithTimeout(url.host, Int32(url.port), Self.timeval(options.connectTimeout))
        else {
            throw RedisError(.connectionFailed, "Cannot connect to Redis at '\(url)': out of memory.")
        }
        if context.pointee.err != 0 {
            let reason = Self.errorText(context)
            redisFree(context)
            throw RedisError(
                .connectionFailed,
                "Cannot connect to Redis at '\(url)': \(Self.asSentence(reason)) Check that Redis is running and the address is right.")
        }
        redisSetTimeout(context, Self.timeval(options.commandTimeout))
        redisEnableKeepAlive(context)
        do throws(RedisError) {
            try handshake(context)
        } catch {
            redisFree(context)
            throw error
        }
        return context
    }

    private func handshake(_ context: UnsafeMutablePointer<redisContext>) throws(RedisError) {
        if let password = url.password {
            let command = url.user.map { RedisCommand("AUTH", $0, password) } ?? RedisCommand("AUTH", password)
            try Self.append(command, to: context, url: url)
            let reply = try Self.readReply(from: context, for: command, url: url)
            if let message = reply.errorMessage {
                throw RedisError(
                    .authenticationFailed,
                    "Redis at '\(url)' rejected the credentials: \(Self.asSentence(message)) Check the user and password in the URL.")
            }
        }
        let select = RedisCommand("SELECT", url.database)
        try Self.append(select, to: context, url: url)
        let reply = try Self.readReply(from: context, for: select, url: url)
        guard let message = reply.errorMessage else { return }
        if message.hasPrefix("NOAUTH") || message.hasPrefix("WRONGPASS") {
            throw RedisError(
                .authenticationFailed,
                "Redis at '\(url)' requires a password: \(Self.asSentence(message)) Put it in the URL as redis://:password@host:port/db.")
        }
        throw RedisError(
            .invalidDatabase,
            "Redis at '\(url)' has no database \(url.database): \(Self.asSentence(message)) Use an index below the server's 'databases' setting (16 by default)."
        )
    }

    // MARK: - hiredis calls

    /// Sends commands and reads their replies, `chunkSize` commands at a time.
    private static func roundTrip(
        _ commands: [RedisCommand], on context: UnsafeMutablePointer<redisContext>, url: RedisURL, chunkSize: Int
    ) throws(RedisError) -> [RedisReply] {
        var replies: [RedisReply] = []
        replies.reserveCapacity(commands.count)
        var start = 0
        while start < commands.count {
            let end = min(start + chunkSize, commands.count)
            try append(commands[start..<end], to: context, url: url)
            for command in commands[start..<end] {
                replies.append(try readReply(from: context, for: command, url: url))
            }
            start = end
        }
        return replies
    }

    /// Appends one command to hiredis's output buffer.
    private static func append(
        _ command: RedisCommand, to context: UnsafeMutablePointer<redisContext>, url: RedisURL
    ) throws(RedisError) {
        try append([command][...], to: context, url: url)
    }

    /// Writes commands as RESP arrays of bulk strings (what
    /// `redisFormatCommandArgv` writes) into one buffer, and appends it to
    /// hiredis's output buffer in one call, which copies the bytes.
    private static func append(
        _ commands: ArraySlice<RedisCommand>, to context: UnsafeMutablePointer<redisContext>, url: RedisURL
    ) throws(RedisError) {
        guard let first = commands.first else { return }
        var buffer: [UInt8] = []
        buffer.reserveCapacity(commands.reduce(0) { $0 + $1.encodedSizeLimit })
        for command in commands {
            command.appendEncoded(to: &buffer)
        }
        let status = buffer.withUnsafeBytes { bytes in
            redisAppendFormattedCommand(context, bytes.baseAddress!.assumingMemoryBound(to: CChar.self), bytes.count)
        }
        guard status == REDIS_OK else {
            throw RedisError(.connectionLost, "Cannot send \(first.name) to Redis at '\(url)': \(errorText(context)).")
        }
    }

    /// Writes hiredis's output buffer to the socket until it is empty.
    private static func flush(_ context: UnsafeMutablePointer<redisContext>, url: RedisURL) throws(RedisError) {
        var done: Int32 = 0
        while done == 0 {
            guard redisBufferWrite(context, &done) == REDIS_OK else {
                throw RedisError(.connectionLost, "Cannot write to Redis at '\(url)': \(errorText(context)).")
            }
        }
    }

    private static func readReply(
        from context: UnsafeMutablePointer<redisContext>, for command: RedisCommand, url: RedisURL
    ) throws(RedisError) -> RedisReply {
        var raw: UnsafeMutableRawPointer?
        guard redisGetReply(context, &raw) == REDIS_OK, let raw else {
            let reason = errorText(context)
            let hint = reason.contains("temporarily unavailable") ? " (the command timed out)" : ""
            throw RedisError(
                .connectionLost, "Lost the connection to Redis at '\(url)' during \(command.name): \(reason)\(hint).")
        }
        defer { freeReplyObject(raw) }
        return RedisReply(UnsafePointer(raw.assumingMemoryBound(to: redisReply.self)))
    }

    /// Drops a final period from a server or system message, so it can be
    /// followed by ". Check ..." without doubling the period.
    /// Returns `text` ending in one mark of punctuation, so a Redis message
    /// such as "… is correct?" is not followed by another period.
    static func asSentence(_ text: String) -> String {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard let last = trimmed.last else { return "" }
        return ".?!".contains(last) ? trimmed : trimmed + "."
    }

    private static func errorText(_ context: UnsafeMutablePointer<redisContext>) -> String {
        let text = withUnsafeBytes(of: context.pointee.errstr) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        return text.isEmpty ? "I/O error" : text
    }

    /// True when the idle socket is readable: the server closed it, or sent
    /// something no request asked for. Either way it must not be reused.
    private static func isClosedByPeer(_ context: UnsafeMutablePointer<redisContext>) -> Bool {
        var descriptor = pollfd(fd: context.pointee.fd, events: Int16(POLLIN), revents: 0)
        return poll(&descriptor, 1, 0) != 0
    }

    private static func timeval(_ seconds: Double) -> timeval {
        let whole = seconds.rounded(.down)
        return Glibc.timeval(tv_sec: Int(whole), tv_usec: Int((seconds - whole) * 1_000_000))
    }
}
