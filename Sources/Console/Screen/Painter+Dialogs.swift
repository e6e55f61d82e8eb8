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
            let box = openBox(title: "Replay all", width: 60, height: 7)
            writeLines([
                ("Replay all \(open) open failures?", .bold),
                ("Each goes back through its dispatcher with its stored payload.", .plain),
                ("", .plain),
                ("y or Enter: replay   n or Esc: cancel", .dim),
            ], in: box)
        case .replayProgress:
            drawReplayProgress()
        }
    }

    private func document(for target: DetailTarget, fullValues: Bool) -> DetailDocument {
        let rules = input.context.rules
        switch target {
        case .dispatcher(let name):
            return .dispatcher(input.snapshot.dispatchers.first { $0.name == name }, name: name, ascii: ascii)
        case .queue(let name, let failures):
            return .queue(
                input.snapshot.queues.first { $0.depth.name == name }, name: name, failures: failures, now: input.now,
                glyphs: glyphs, fullValues: fullValues)
        case .batch(let batch):
            return .batch(batch, rules: rules, now: input.now)
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

    private mutating func writeLines(_ lines: [(String, CellStyle)], in rect: Rect) {
        for (offset, line) in lines.prefix(rect.height).enumerated() {
            grid.write(line.0, row: rect.row + offset, column: rect.column, limit: rect.width, style: line.1)
        }
    }

    private mutating func drawDocument(_ document: DetailDocument, scroll: Int) {
        let box = openBox(title: document.title, width: min(width - 4, 110), height: height - 2)
        let rows = document.rows(width: box.width, ascii: ascii)
        let visible = max(1, box.height - 1)
        let first = max(0, min(scroll, rows.count - visible))
        writeLines(Array(rows.dropFirst(first)), in: Rect(row: box.row, column: box.column, width: box.width, height: visible))
        let position = rows.count > visible ? "\(first + 1)-\(min(rows.count, first + visible)) of \(rows.count) · " : ""
        grid.write(position + "↑↓ scroll · Esc closes", row: box.bottom - 1, column: box.column, limit: box.width, style: .dim)
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
                rows.append((TextFit.fit(line.keys, width: keyWidth, ascii: ascii) + line.description, .plain))
            }
        }
        let visible = max(1, box.height - 1)
        let first = max(0, min(scroll, rows.count - visible))
        writeLines(Array(rows.dropFirst(first)), in: Rect(row: box.row, column: box.column, width: box.width, height: visible))
        let position = rows.count > visible ? "\(first + 1)-\(min(rows.count, first + visible)) of \(rows.count) · " : ""
        grid.write(position + "↑↓ scroll · Esc closes", row: box.bottom - 1, column: box.column, limit: box.width, style: .dim)
    }

    // MARK: - Forms

    private mutating func drawField(_ label: String, _ value: String, focused: Bool, isChoice: Bool, row: Int, in box: Rect) {
        let labelWidth = 22
        grid.write(label, row: row, column: box.column, width: labelWidth, style: focused ? .bold : .plain)
        let fieldWidth = box.width - labelWidth
        let shown = isChoice ? "◀ \(value) ▶" : value + (focused ? "_" : "")
        let style = focused ? CellStyle([.reverse, .bold]) : CellStyle(.underline)
        grid.write(shown, row: row, column: box.column + labelWidth, width: fieldWidth, style: style)
    }

    private mutating func drawTrigger(_ form: TriggerForm) {
        let box = openBox(title: "Trigger a dispatch", width: min(width - 4, 100), height: min(height - 2, 24))
        var row = box.row
        for field in TriggerForm.Field.allCases {
            drawField(field.label, form.text(field), focused: form.focus == field, isChoice: field.isChoice, row: row, in: box)
            row += 1
        }
        row += 1
        grid.write("Preview", row: row, column: box.column, style: CellStyle([.bold, .underline], role: .title))
        row += 1
        for line in triggerPreview(form) where row < box.bottom - 1 {
            grid.write(line.0, row: row, column: box.column, limit: box.width, style: line.1)
            row += 1
        }
        grid.write("Tab/↑↓ field · ←→ choice · Enter dispatches · Esc cancels", row: box.bottom - 1, column: box.column,
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
            drawField(field.label, values[field.rawValue], focused: form.focus == field, isChoice: field == .dispatcher, row: row, in: box)
            row += 1
        }
        row += 1
        let active = input.snapshot.dispatchers.compactMap { figures -> String? in
            guard let fault = figures.fault, fault.isActive else { return nil }
            return "\(figures.name): \(DispatchersPane.faultText(fault))"
        }
        grid.write("In force: " + (active.isEmpty ? "none" : active.joined(separator: ", ")), row: row, column: box.column,
                   limit: box.width, style: .plain)
        row += 1
        grid.write("Set both numbers to 0 to turn the fault off.", row: row, column: box.column, limit: box.width, style: .dim)
        grid.write("Tab/↑↓ field · ←→ dispatcher · Enter applies · Esc cancels", row: box.bottom - 1, column: box.column,
                   limit: box.width, style: .dim)
    }

    // MARK: - Replay progress

    private mutating func drawReplayProgress() {
        let box = openBox(title: "Replay", width: min(width - 4, 72), height: 9)
        guard let job = input.replay else {
            writeLines([("Starting…", .dim)], in: box)
            return
        }
        var lines: [(String, CellStyle)] = [(job.title, .bold)]
        let fraction = job.total > 0 ? Double(job.completed) / Double(job.total) : (job.isFinished ? 1 : 0)
        let count = "\(job.completed)/\(job.total)"
        lines.append((glyphs.progressBar(fraction, width: max(1, box.width - TextFit.cellWidth(count) - 1)) + " " + count, .plain))
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
        writeLines(lines, in: box)
    }
}
