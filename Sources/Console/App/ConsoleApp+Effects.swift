import Brokers
import Engine
import Foundation

extension ConsoleApp {
    /// Carries out one effect and returns true when it requests quitting.
    func perform(_ effect: ConsoleEffect, now: Double) -> Bool {
        switch effect {
        case .quit:
            return true
        case .redraw:
            forceRedraw = true
        case .replay(let ids):
            startReplay(.ids(ids))
        case .replayAll:
            startReplay(.allOpen)
        case .stopReplay:
            replayJob?.requestStop()
        case .trigger(let event):
            trigger(event)
        case .setFault(let name, let setting):
            session.engine.faults.set(setting, for: name)
            let text = setting.isActive ? "\(name): \(DispatchersPane.faultText(setting))" : "\(name): fault turned off"
            logger.info("Fault setting changed", [(LogKey.dispatcher, name), (ConsoleLogKey.fault, DispatchersPane.faultText(setting))])
            state.post(text, now: now)
        case .togglePause:
            guard let pump = session.pump, pump.hasSource else {
                let reason = session.noSourceReason ?? "pass --events FILE, or run the demo."
                state.post("There is no event source to pause: \(reason)", level: .warning, now: now)
                return false
            }
            pump.setPaused(!pump.isPaused)
            state.post(pump.isPaused ? "Event source paused." : "Event source resumed.", now: now)
        case .adjustRate(let faster):
            guard let pump = session.pump else { return false }
            state.post(Self.adjustRate(pump, faster: faster), now: now)
        case .loadFailureDetail(let id):
            loadFailureDetail(id, now: now)
        case .loadBrokerFailures(let queue):
            loadBrokerFailures(queue)
        case .requeue(let request):
            startRequeue(request, now: now)
        case .stopRequeue:
            requeueJob?.requestStop()
        }
        return false
    }

    /// Doubles or halves the demo rate and returns the status message.
    ///
    /// A step that would pass the pump's bounds is refused rather than
    /// clamped: clamping (200k/s is not a power of two times 40) would leave
    /// a rate from which halving never returns to the starting one, so the
    /// rate is always the starting rate times a power of two.
    static func adjustRate(_ pump: EventPump, faster: Bool) -> String {
        let target = faster ? pump.rate * 2 : pump.rate / 2
        guard target <= EventPump.maximumRate else {
            return "The demo rate is at its highest step, \(DemoRate.text(pump.rate))."
        }
        guard target >= EventPump.minimumRate else {
            return "The demo rate is at its lowest step, \(DemoRate.text(pump.rate))."
        }
        return "Demo rate \(DemoRate.text(pump.adjustRate(faster: faster)))."
    }

    /// Starts the requeue on its own thread: each message is a broker round trip.
    private func startRequeue(_ request: RequeueRequest, now: Double) {
        guard let broker = session.broker else {
            state.dialog = nil
            state.post("No broker is configured, so there is nothing to requeue.", level: .error, now: now)
            return
        }
        requeueAnnounced = false
        requeueJob = RequeueJob.start(request, broker: broker, journal: session.engine.journal, logger: logger)
    }

    private func startReplay(_ scope: ReplayJob.Scope) {
        replayAnnounced = false
        replayJob = ReplayJob.start(scope: scope, replayer: session.replayer)
    }

    /// Dispatches on a background thread: an inline dispatcher with added
    /// latency must not freeze the screen.
    private func trigger(_ event: ChangeEvent) {
        let engine = session.engine
        let messages = self.messages
        let logger = self.logger
        DispatchQueue.global().async {
            let result = engine.process(event)
            let ids = result.batchIDs.map { "#\($0)" }.joined(separator: ", ")
            let pk = ValuePreview.json(event.pk, limit: 24)
            let text = result.batchIDs.isEmpty
                ? "Triggered \(event.model) pk \(pk): no rule ran (see the preview)."
                : "Triggered \(event.model) pk \(pk): \(Format.counted(result.batchIDs.count, "batch", plural: "batches")) \(ids)."
            logger.info("Dispatch triggered", [(LogKey.model, event.model), (LogKey.pk, pk), (ConsoleLogKey.batchIDs, ids)])
            messages.post(text, level: .info)
        }
    }

    /// Starts reading the broker's failed messages for a queue's detail view
    /// that shows them as loading. The read runs on a background thread
    /// (see ``QueueFailureRefresh``), so a slow broker never stalls the screen.
    func loadBrokerFailures(_ queue: String) {
        guard session.broker == nil else {
            failureRefresh.requestRead()
            return
        }
        if case .detail(.queue(queue, .loading, _), let scroll, let full)? = state.dialog {
            state.dialog = .detail(.queue(queue, brokerFailures: .noBroker), scroll: scroll, fullValues: full)
        }
    }

    private func loadFailureDetail(_ id: Int64, now: Double) {
        guard let journal = session.engine.journal else {
            state.dialog = nil
            state.post("No failure journal is open.", level: .error, now: now)
            return
        }
        do {
            guard let record = try journal.entry(id) else {
                state.dialog = nil
                state.post("Journal entry \(id) no longer exists.", level: .error, now: now)
                return
            }
            let replays = try journal.replays(of: id).map {
                ReplayRecord(at: $0.at, dispatcher: $0.dispatcher, outcome: $0.outcome, error: $0.error)
            }
            if case .detail(.loadingFailure(id), let scroll, let full)? = state.dialog {
                state.dialog = .detail(.failure(FailureDetail(record: record, replays: replays)), scroll: scroll, fullValues: full)
            }
        } catch {
            state.dialog = nil
            state.post("Cannot read journal entry \(id): \(error)", level: .error, now: now)
        }
    }
}
