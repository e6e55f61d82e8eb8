import Engine

extension Painter {
    mutating func drawDialog() {
        guard let dialog = state.dialog else { return }
        switch dialog {
        case .help(let scroll):
            drawHelp(scroll: scroll)
        case .detail(let target, let scroll, let full):
            drawDocument(document(for: target, fullValues: full), scroll: scroll)
        case .trigger(let form):
            drawTrigger(form)
        case .faults(let form):
            drawFaults(form)
        case .confirmReplayAll(let open):
            drawMessage(title: "Replay all", width: 60, lines: [
                ("Replay all \(open) open failures?", .bold),
                ("Each goes back through its dispatcher, with its stored payload when it has one.", .plain),
                ("", .plain),
                ("y or Enter: replay   n or Esc: cancel", .dim),
            ])
        case .replayProgress:
            drawReplayProgress()
        case .confirmRequeueAll(let request):
            let count = request.expectedCount
            let messages = count == 1 ? "failed message" : "failed messages"
            var lines: [(String, CellStyle)] = [
                ("Requeue all \(count) \(messages) of \(request.queue) at \(WriteTargets.brokerPhrase(request.brokerLabel))?", .bold),
                ("Each goes back to the end of its queue with its body and options unchanged.", .plain),
            ]
            if count > request.messages.count {
                lines.append(("The view lists the newest \(request.messages.count); the rest are read from the broker as the requeue goes.", .plain))
            }
            drawMessage(title: "Requeue all", width: 64, lines: lines + [
                ("", .plain),
                ("y or Enter: requeue   n or Esc: cancel", .dim),
            ])
        case .requeueProgress:
            drawRequeueProgress()
        }
    }

    private func document(for target: DetailTarget, fullValues: Bool) -> DetailDocument {
        let rules = input.context.rules
        switch target {
        case .dispatcher(let name):
            return .dispatcher(input.snapshot.dispatchers.first { $0.name == name }, name: name, ascii: ascii)
        case .queue(let name, let failures, let selected):
            return .queue(
                input.snapshot.queues.first { $0.depth.name == name }, name: name, failures: failures, selected: selected,
                lastRead: input.queueReadings.lastRead[name], now: input.now, glyphs: glyphs, fullValues: fullValues)
        case .batch(let batch):
            return .batch(batch, rules: rules, now: input.now, fullValues: fullValues)
        case .loadingFailure(let id):
            var document = DetailDocument(title: "Failure \(id)")
            document.text("Reading the journal…", style: .dim)
            return document
        case .failure(let detail):
            return .failure(detail, rules: rules, fullValues: fullValues, glyphs: glyphs)
        }
    }

    /// Draws a bordered box centred on the screen, cleared, and returns its
    /// inside. The box leaves the header, the status line and the footer
    /// free, so a form's error message stays readable.
    private mutating func openBox(title: String, width boxWidth: Int, height boxHeight: Int) -> Rect {
        let area = Rect(row: 1, column: 0, width: width, height: height - 3)
        let box = area.centred(width: boxWidth, height: boxHeight)
        grid.fill(box)
        let style = CellStyle(.bold, role: .accent)
        let horizontal = String(repeating: glyphs.horizontal, count: max(0, box.width - 2))
        grid.write(String(glyphs.topLeft) + horizontal + String(glyphs.topRight), row: box.row, column: box.column, style: style)
        grid.write(String(glyphs.bottomLeft) + horizontal + String(glyphs.bottomRight), row: box.bottom - 1, column: box.column, style: style)
        for row in (box.row + 1)..<(box.bottom - 1) {
            grid.write(String(glyphs.vertical), row: row, column: box.column, style: style)
            grid.write(String(glyphs.vertical), row: row, column: box.right - 1, style: style)
        }
        grid.write(" \(title) ", row: box.row, column: box.column + 2, limit: box.width - 4, style: CellStyle([.bold, .reverse], role: .title))
        return Rect(row: box.row + 1, column: box.column + 2, width: box.width - 4, height: box.height - 2)
    }

    /// Writes rows that already fit `rect`'s width; when there are more rows
    /// than fit, the last one shown ends in an ellipsis.
    private mutating func writeLines(_ lines: [(String, CellStyle)], in rect: Rect) {
        guard rect.height > 0 else { return }
        for (offset, line) in lines.prefix(rect.height).enumerated() {
            var text = TextFit.truncate(line.0, width: rect.width, ascii: ascii)
            if offset == rect.height - 1, lines.count > rect.height, text == line.0 {
                text = TextFit.cellWidth(text, ascii: ascii) < rect.width
                    ? text + glyphs.ellipsis : TextFit.truncate(text + glyphs.ellipsis, width: rect.width, ascii: ascii)
            }
            grid.write(text, row: rect.row + offset, column: rect.column, limit: rect.width, style: line.1)
        }
    }

    /// Breaks each line at spaces into rows of at most `width` cells.
    private func wrapped(_ lines: [(String, CellStyle)], width: Int) -> [(String, CellStyle)] {
        lines.flatMap { line in TextWrap.wrap(line.0, width: width, ascii: ascii).map { ($0, line.1) } }
    }

    /// Draws a box sized to its wrapped text, at most `maximumWidth` wide.
    private mutating func drawMessage(title: String, width maximumWidth: Int, lines: [(String, CellStyle)]) {
        let boxWidth = min(width - 4, maximumWidth)
        let rows = wrapped(lines, width: boxWidth - 4)
        let box = openBox(title: title, width: boxWidth, height: min(height - 3, rows.count + 2))
        writeLines(rows, in: box)
    }

    private mutating func drawDocument(_ document: DetailDocument, scroll: Int) {
        let box = openBox(title: document.title, width: min(width - 4, 110), height: height - 2)
        let (rows, anchor) = document.layout(width: box.width, ascii: ascii)
        var first = scroll
        if let anchor {
            // The selected item is scrolled into view with up to 8 rows of
            // its text below it (its error and body), or half the box.
            let visible = max(1, box.height - 1)
            let rowsBelowAnchor = max(1, min(visible / 2, 8))
            first = min(max(0, min(scroll, rows.count - visible)), anchor)
            if anchor + rowsBelowAnchor > first + visible { first = anchor + rowsBelowAnchor - visible }
        }
        drawScrolled(rows, scroll: first, in: box, movement: anchor == nil ? "↑↓ scroll" : "↑↓ select")
    }

    /// Draws the visible part of `rows` and, on the box's last row, the
    /// position and the keys. Every row is cut to the box's width already.
    private mutating func drawScrolled(_ rows: [(String, CellStyle)], scroll: Int, in box: Rect, movement: String = "↑↓ scroll") {
        let visible = max(1, box.height - 1)
        let first = max(0, min(scroll, rows.count - visible))
        for (offset, row) in rows.dropFirst(first).prefix(visible).enumerated() {
            grid.write(row.0, row: box.row + offset, column: box.column, limit: box.width, style: row.1)
        }
        let position = rows.count > visible ? "\(first + 1)-\(min(rows.count, first + visible)) of \(rows.count) · " : ""
        let keys = TextFit.truncate(position + movement + " · Esc closes", width: box.width, ascii: ascii)
        grid.write(keys, row: box.bottom - 1, column: box.column, limit: box.width, style: .dim)
    }

    private mutating func drawHelp(scroll: Int) {
        let box = openBox(title: "Keys", width: min(width - 4, 84), height: height - 2)
        let lines = KeyMap.helpLines(ascii: ascii)
        let keyWidth = 14
        var rows: [(String, CellStyle)] = []
        for line in lines {
            if line.isHeading {
                rows.append((line.keys, CellStyle([.bold, .underline], role: .title)))
            } else if line.keys.isEmpty && line.description.isEmpty {
                rows.append(("", .plain))
            } else {
                // Long descriptions wrap under themselves, beside the keys.
                let pieces = TextWrap.wrap(line.description, width: max(8, box.width - keyWidth), ascii: ascii)
                for (index, piece) in pieces.enumerated() {
                    let keys = index == 0 ? TextFit.fit(line.keys, width: keyWidth, ascii: ascii) : String(repeating: " ", count: keyWidth)
                    rows.append((keys + piece, .plain))
                }
            }
        }
        drawScrolled(rows, scroll: scroll, in: box)
    }

    // MARK: - Forms

    /// Draws a labelled field. A focused text field is drawn in reverse
    /// video with a `_` cursor after its text. While its text is selected,
    /// so that typing replaces it, only the text is in reverse video and
    /// there is no cursor. An empty field shows its placeholder dimmed.
    private mutating func drawField(
        _ label: String, _ value: String, focused: Bool, isChoice: Bool, selected: Bool = false, placeholder: String? = nil,
        row: Int, in box: Rect
    ) {
        let labelWidth = 22
        grid.write(label, row: row, column: box.column, width: labelWidth, style: focused ? .bold : .plain)
        let fieldWidth = box.width - labelWidth
        let column = box.column + labelWidth
        if isChoice {
            let style = focused ? CellStyle([.reverse, .bold]) : CellStyle(.underline)
            grid.write("◀ \(value) ▶", row: row, column: column, width: fieldWidth, style: style)
            return
        }
        if focused && selected {
            grid.write("", row: row, column: column, width: fieldWidth, style: CellStyle(.underline))
            grid.write(TextFit.truncate(value, width: fieldWidth, ascii: ascii), row: row, column: column, limit: fieldWidth,
                       style: CellStyle([.reverse, .bold]))
            return
        }
        // A focused field shows its end, where typing goes; the others show their start.
        let visibleText = focused ? TextFit.tail(value + "_", width: fieldWidth, ascii: ascii) : value
        let style = focused ? CellStyle([.reverse, .bold]) : CellStyle(.underline)
        grid.write(visibleText, row: row, column: column, width: fieldWidth, style: style)
        if let placeholder, value.isEmpty {
            let start = focused ? 2 : 0
            grid.write(placeholder, row: row, column: column + start, width: fieldWidth - start, style: style.adding(.dim))
        }
    }

    private mutating func drawTrigger(_ form: TriggerForm) {
        let box = openBox(title: "Trigger a dispatch", width: min(width - 4, 100), height: min(height - 2, 24))
        var row = box.row
        for field in TriggerForm.Field.allCases {
            drawField(
                field.label, form.text(field), focused: form.focus == field, isChoice: field.isChoice,
                selected: form.replacesText, placeholder: form.placeholder(field), row: row, in: box)
            row += 1
        }
        row += 1
        grid.write("Preview", row: row, column: box.column, style: CellStyle([.bold, .underline], role: .title))
        row += 1
        let preview = wrapped(triggerPreview(form), width: box.width)
        writeLines(preview, in: Rect(row: row, column: box.column, width: box.width, height: max(0, box.bottom - 1 - row)))
        writeKeys("Tab/↑↓ field · ←→ choice · Enter dispatches · Esc cancels", in: box)
    }

    /// Writes the keys of a dialog on its last row, ending in an ellipsis when cut.
    private mutating func writeKeys(_ text: String, in box: Rect) {
        grid.write(TextFit.truncate(text, width: box.width, ascii: ascii), row: box.bottom - 1, column: box.column,
                   limit: box.width, style: .dim)
    }

    /// Lists the rules of the model: those the event runs with their
    /// dispatcher and arguments, and those it skips with the reason.
    private func triggerPreview(_ form: TriggerForm) -> [(String, CellStyle)] {
        guard let rules = input.context.rules else { return [("The rules are not available for a preview.", .dim)] }
        let event: ChangeEvent
        switch form.event() {
        case .success(let made): event = made
        case .failure(let error): return [(error.message, CellStyle(.bold, role: .bad))]
        }
        let evaluator = RuleEvaluator(rules: rules)
        var lines: [(String, CellStyle)] = []
        for (index, rule) in rules.rules.enumerated() where rule.model == event.model {
            let target = "\(rule.id) → \(rule.functionName)"
            switch evaluator.arguments(forRule: index, event: event) {
            case .success(let arguments):
                let batching = rule.batch && rules.dispatchers[index].supportsBatching ? ", batched" : ""
                lines.append(("runs  \(target) via \(rule.dispatcher)\(batching) \(ValuePreview.object(arguments, limit: 60))",
                              CellStyle(.bold, role: .good)))
            case .failure(let reason):
                lines.append(("skip  \(target): \(reason.skip.rawValue)", CellStyle(.dim, role: .muted)))
            }
        }
        if lines.isEmpty { lines.append(("No rule watches \(event.model).", .dim)) }
        return lines
    }

    private mutating func drawFaults(_ form: FaultForm) {
        let box = openBox(title: "Inject faults", width: min(width - 4, 72), height: 12)
        var row = box.row
        let values = [form.dispatcher, form.failurePercent, form.latency]
        for field in FaultForm.Field.allCases {
            drawField(
                field.label, values[field.rawValue], focused: form.focus == field, isChoice: field == .dispatcher,
                selected: form.replacesText, row: row, in: box)
            row += 1
        }
        row += 1
        let active = input.snapshot.dispatchers.compactMap { figures -> String? in
            guard let fault = figures.fault, fault.isActive else { return nil }
            return "\(figures.name): \(DispatchersPane.faultText(fault))"
        }
        let notes = wrapped([
            ("In force: " + (active.isEmpty ? "none" : active.joined(separator: ", ")), .plain),
            ("Set both numbers to 0 to turn the fault off.", .dim),
        ], width: box.width)
        writeLines(notes, in: Rect(row: row, column: box.column, width: box.width, height: max(0, box.bottom - 1 - row)))
        writeKeys("Tab/↑↓ field · ←→ dispatcher · Enter applies · Esc cancels", in: box)
    }

    // MARK: - Replay and requeue progress

    private mutating func drawRequeueProgress() {
        guard let job = input.requeue else {
            drawMessage(title: "Requeue", width: 72, lines: [("Starting…", .dim)])
            return
        }
        let boxWidth = min(width - 4, 72)
        var lines: [(String, CellStyle)] = [(job.title, .bold), ("at \(WriteTargets.brokerPhrase(job.brokerLabel))", .plain)]
        let fraction = job.total > 0 ? Double(job.completed) / Double(job.total) : (job.isFinished ? 1 : 0)
        let count = "\(job.completed)/\(job.total)"
        lines.append((glyphs.progressBar(fraction, width: max(1, boxWidth - 4 - TextFit.cellWidth(count) - 1)) + " " + count, .plain))
        if let id = job.lastMessageID {
            lines.append(("last: \(id) " + (job.lastError.map { "failed: \($0)" } ?? "requeued"), .plain))
        } else {
            lines.append(("", .plain))
        }
        if job.isFinished {
            let style = job.failed > 0 ? CellStyle(.bold, role: .warning) : CellStyle(.bold, role: .good)
            lines.append(((job.stopping ? "Stopped. " : "Finished. ") + job.closingLine, style))
            lines.append(("Esc goes back to the queue", .dim))
        } else {
            lines.append((job.stopping ? "Stopping after the current message…" : "Running…", .plain))
            lines.append(("s stops after this message · Esc hides this window, the requeue goes on", .dim))
        }
        drawMessage(title: "Requeue", width: 72, lines: lines)
    }

    private mutating func drawReplayProgress() {
        guard let job = input.replay else {
            drawMessage(title: "Replay", width: 72, lines: [("Starting…", .dim)])
            return
        }
        let boxWidth = min(width - 4, 72)
        var lines: [(String, CellStyle)] = [(job.title, .bold)]
        let fraction = job.total > 0 ? Double(job.completed) / Double(job.total) : (job.isFinished ? 1 : 0)
        let count = "\(job.completed)/\(job.total)"
        lines.append((glyphs.progressBar(fraction, width: max(1, boxWidth - 4 - TextFit.cellWidth(count) - 1)) + " " + count, .plain))
        if let last = job.last {
            let detail = last.outcome.detail.map { ": \($0)" } ?? ""
            lines.append(("last: entry \(last.journalID) via \(last.dispatcher) \(last.outcome.label)\(detail)", .plain))
        } else {
            lines.append(("", .plain))
        }
        if let summary = job.summary {
            lines.append(((job.stopping ? "Stopped. " : "Finished. ") + summary.closingLine, CellStyle(.bold, role: .good)))
            lines.append(("Esc closes", .dim))
        } else {
            lines.append((job.stopping ? "Stopping after the current item…" : "Running…", .plain))
            lines.append(("s stops after this item · Esc hides this window, the replay goes on", .dim))
        }
        drawMessage(title: "Replay", width: 72, lines: lines)
    }
}
