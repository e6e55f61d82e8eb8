import Engine

extension DetailDocument {
    /// Builds the detail view of a journalled failure: arguments, timings,
    /// the error, rule ids with their functions, and the replay history.
    static func failure(_ detail: FailureDetail, rules: RuleSet?, fullValues: Bool, glyphs: Glyphs) -> DetailDocument {
        let record = detail.record
        let batch = record.batch
        let limit = fullValues ? nil : ValuePreview.detailLimit
        var document = DetailDocument(title: "Failure \(record.id) · batch #\(batch.id)")
        let status = record.status == .resolved
            ? "\(glyphs.resolved) resolved" + (record.resolution.map { " by \($0)" } ?? "")
            : record.status.rawValue
        document.field("Status", status + (record.deadLettered ? ", dead-lettered" : ""))
        document.field("Dispatcher", batch.dispatcher)
        document.field("Batch key", batch.batchKey)
        document.field("Model", batch.model)
        document.field("pk", ValuePreview.json(batch.pk, limit: limit))
        document.field("Signal", batch.signal.rawValue + (batch.eventIndex.map { ", event \($0)" } ?? ""))
        document.field("Error", "[\(record.error.kind.rawValue)] \(ValuePreview.bounded(record.error.message, limit: limit))")
        if let ruleID = record.error.ruleID { document.field("Failed rule", ruleID) }

        document.heading("Timings (UTC)")
        document.field("Created", Format.clock(batch.createdAt))
        document.field("First failed", Format.clock(record.firstFailedAt))
        document.field("Last failed", Format.clock(record.lastFailedAt))
        document.field("Attempts", String(record.attempts))
        if let resolved = record.resolvedAt { document.field("Resolved", Format.clock(resolved)) }

        document.heading("Rules (\(batch.ruleIDs.count))")
        for id in batch.ruleIDs {
            document.text(ruleLine(id, rules: rules, fingerprint: record.ruleFingerprints[id]), style: .bold)
            let arguments = batch.ruleKwargs[id].map { ValuePreview.json($0, limit: limit) } ?? "(none)"
            document.text("    arguments \(arguments)")
        }
        document.heading("Options and payload")
        document.field("Options", ValuePreview.object(batch.options, limit: limit))
        // A broker batch has no payload when it failed before the broker
        // stored it (Redis rejected it); a replay encodes it again.
        let noPayload = record.broker == nil ? "none (dispatched in-process)" : "none (not stored by the broker; a replay encodes it again)"
        document.field("Payload", batch.payload.map { ValuePreview.payload($0, limit: limit) } ?? noPayload)

        document.heading("Replay history (\(detail.replays.count))")
        if detail.replays.isEmpty { document.text("Not replayed yet.", style: .dim) }
        for replay in detail.replays {
            document.text(
                "\(Format.clock(replay.at))  \(replay.dispatcher)  \(replay.outcome)"
                    + (replay.error.map { ": " + ValuePreview.bounded($0, limit: limit) } ?? ""))
        }
        if !fullValues { document.lines.append(.blank); document.text("v shows full values · r replays", style: .dim) }
        return document
    }

    /// "id → function (on model via dispatcher)", and whether the rule still exists unchanged.
    static func ruleLine(_ id: String, rules: RuleSet?, fingerprint: String?) -> String {
        guard let rules else { return "  \(id)" }
        guard let rule = rules.rule(id: id) else { return "  \(id) → rule no longer in the configuration" }
        var line = "  \(id) → \(rule.functionName) (\(rule.dispatcher))"
        if let fingerprint, fingerprint != rule.fingerprint { line += " · changed since it failed" }
        return line
    }

    /// Builds the detail view of a live batch; `fullValues` shows the pk
    /// and the error whole instead of previews.
    static func batch(_ batch: LiveBatch, rules: RuleSet?, now: Double, fullValues: Bool) -> DetailDocument {
        let limit = fullValues ? nil : ValuePreview.detailLimit
        var document = DetailDocument(title: "Batch #\(batch.id)")
        document.field("State", batch.state.rawValue + (batch.attempt > 1 ? ", attempt \(batch.attempt)" : ""))
        document.field("Dispatcher", batch.dispatcher)
        document.field("Model", batch.model)
        document.field("pk", ValuePreview.json(batch.pk, limit: limit))
        document.field("Signal", batch.signal.rawValue + (batch.eventIndex.map { ", event \($0)" } ?? ""))
        if let replayOf = batch.replayOf { document.field("Replay of", "journal entry \(replayOf)") }
        if let error = batch.error { document.field("Error", ValuePreview.bounded(error, limit: limit)) }
        document.heading("Timings (UTC)")
        document.field("Created", "\(Format.clock(batch.createdAt)) (\(Format.age(now - batch.createdAt)) ago)")
        if let started = batch.startedAt {
            document.field("Started", "\(Format.clock(started)), waited \(Format.micros(UInt64(max(0, started - batch.createdAt) * 1_000_000)))")
        }
        if let finished = batch.finishedAt {
            let ran = batch.startedAt.map { ", ran \(Format.micros(UInt64(max(0, finished - $0) * 1_000_000)))" } ?? ""
            document.field("Finished", Format.clock(finished) + ran)
        }
        document.heading("Rules (\(batch.ruleIDs.count))")
        for id in batch.ruleIDs {
            document.text(ruleLine(id, rules: rules, fingerprint: nil), style: .bold)
            let arguments = batch.ruleKwargs[id].map { ValuePreview.json($0, limit: limit) } ?? "(none)"
            document.text("    arguments \(arguments)")
        }
        if !fullValues { document.lines.append(.blank); document.text("v shows full values", style: .dim) }
        return document
    }

    static func dispatcher(_ figures: DispatcherSnapshot?, name: String, ascii: Bool) -> DetailDocument {
        var document = DetailDocument(title: "Dispatcher \(name)")
        guard let figures else {
            document.text("The dispatcher is no longer registered.", style: .dim)
            return document
        }
        document.field("Runs on", figures.runsOn)
        document.field("Batching", figures.batching ? "yes" : "no")
        document.field("Rules", String(figures.ruleCount))
        document.field("Fault", DispatchersPane.faultText(figures.fault))
        document.heading("Counters")
        document.field("Dispatched", String(figures.dispatched))
        document.field("In flight", "\(figures.inFlight) (\(figures.queued) queued)")
        document.field("Done", String(figures.done))
        document.field("Failed", "\(figures.failed) (\(figures.deadLettered) dead-lettered)")
        document.field("Retried", String(figures.retried))
        document.field("Replayed", String(figures.replayed))
        document.field("Sent", String(figures.sent))
        document.heading("Last minute")
        document.field("Queue wait", "p50 \(Format.micros(figures.queueWaitP50, ascii: ascii))  p99 \(Format.micros(figures.queueWaitP99, ascii: ascii))")
        document.field("Run time", "p50 \(Format.micros(figures.runTimeP50, ascii: ascii))  p99 \(Format.micros(figures.runTimeP99, ascii: ascii))")
        document.field("Finished/s", "1 s \(Format.rate(figures.rate1s))  10 s \(Format.rate(figures.rate10s))  60 s \(Format.rate(figures.rate60s))")
        return document
    }

    static func queue(
        _ queue: QueueSnapshot?, name: String, failures: BrokerFailures, selected: Int = 0, lastRead: Double? = nil,
        now: Double, glyphs: Glyphs, fullValues: Bool
    ) -> DetailDocument {
        var document = DetailDocument(title: "Queue \(name)")
        guard let queue else {
            document.text("The queue is no longer reported by any probe.", style: .dim)
            document.addBrokerFailures(failures, selected: selected, glyphs: glyphs, fullValues: fullValues)
            return document
        }
        let depth = queue.depth
        let figures = [("Ready", depth.ready), ("In flight", depth.inFlight), ("Delayed", depth.delayed), ("Failed", depth.failed)]
        if let sources = QueueFigureSources.sources(of: depth) {
            for ((label, value), source) in zip(figures, sources) {
                // A figure the broker does not keep reads "?  not kept by …", not "from not kept".
                let origin = value == nil ? source : "from \(source)"
                document.field(label, "\(QueuesPane.figure(value))  \(origin)")
            }
        } else {
            for (label, value) in figures { document.field(label, QueuesPane.figure(value)) }
            document.field("Source", depth.source)
        }
        if QueueFigureSources.hasFigures(depth) {
            document.field("Read", "\(Format.age(now - depth.readAt)) ago at \(Format.clock(depth.readAt)), all four figures together")
        } else if let last = lastRead {
            document.field("Read", "not now; the last figures were read \(Format.age(now - last)) ago at \(Format.clock(last))")
        } else {
            document.field("Read", "not yet: no reading has held figures")
        }
        if let note = depth.note { document.field("Note", note) }
        document.heading("Ready, last \(queue.history.count) s")
        document.text(glyphs.sparkline(queue.history, width: 60))
        document.text("min \(queue.history.min() ?? 0)  max \(queue.history.max() ?? 0)", style: .dim)
        document.addBrokerFailures(
            failures, selected: selected, glyphs: glyphs, fullValues: fullValues, countUnknown: queue.depth.failed == nil)
        return document
    }
}

extension DetailDocument {
    /// Adds the broker's failed messages of a queue, each body previewed
    /// safely whatever its format (JSON, pickle, or anything else). The
    /// message at position `selected`, which `r` requeues, is marked.
    /// `countUnknown` is set when the probe cannot count the queue's
    /// failures, so an empty list means "not readable" rather than "none".
    mutating func addBrokerFailures(
        _ failures: BrokerFailures, selected: Int, glyphs: Glyphs, fullValues: Bool, countUnknown: Bool = false
    ) {
        let limit = fullValues ? nil : ValuePreview.detailLimit
        switch failures {
        case .loading:
            heading("Failed messages at the broker")
            text("Reading the broker…", style: .dim)
        case .noBroker:
            heading("Failed messages at the broker")
            text("No broker is configured; the Failures pane lists the journal.", style: .dim)
        case .loaded(let messages) where messages.isEmpty && countUnknown:
            heading("Failed messages at the broker")
            text("Not readable here: this broker keeps failures where dispatchtop cannot list them (see Failed above).", style: .dim)
        case .loaded(let messages):
            heading("Failed messages at the broker (\(messages.count))")
            if messages.isEmpty {
                text("None.", style: .dim)
            } else {
                text("↑↓ selects · r requeues the selected message · R requeues them all · v shows whole bodies", style: .dim)
            }
            for (index, message) in messages.enumerated() {
                let time = message.failedAt.map { Format.clock($0) } ?? "time unknown"
                let attempts = message.attempts.map { ", " + Format.counted($0, "attempt") } ?? ""
                let chosen = index == selected
                if chosen { anchor = lines.count }
                // The selection is marked by a sign and reverse video, not by colour alone.
                let marker = chosen ? glyphs.selectedItem : " "
                text("\(marker) \(message.messageID)  \(time)\(attempts)", style: chosen ? CellStyle([.bold, .reverse]) : .bold)
                if let error = message.error { text("    error \(ValuePreview.bounded(error, limit: limit))") }
                if let reason = message.undecodableReason { text("    not decodable: \(reason)") }
                text("    body \(ValuePreview.payload(message.body, limit: limit, decode: chosen))")
            }
        }
    }
}
