import Engine

/// Lets the engine sample a broker's queue depths and reachability for the
/// console (``Engine/addQueueProbe(_:)``).
///
/// It reads only what the broker's own ``MessageBroker/depths()`` and
/// ``MessageBroker/status`` read, so it is as cheap and free of side effects
/// as they are.
public struct BrokerQueueProbe: QueueProbe {
    public let broker: any MessageBroker
    private let outboxCount: @Sendable () -> Int

    /// - Parameter outboxCount: dispatches waiting in the outbox for this
    ///   broker, e.g. the journal's outbox count; none by default.
    public init(broker: any MessageBroker, outboxCount: @escaping @Sendable () -> Int = { 0 }) {
        self.broker = broker
        self.outboxCount = outboxCount
    }

    public func readDepths() -> [QueueDepth] {
        broker.depths()
    }

    public var brokerStatus: BrokerStatus? { broker.status }

    public var outboxWaiting: Int { outboxCount() }
}
