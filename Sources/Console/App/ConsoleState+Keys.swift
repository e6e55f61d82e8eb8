import Engine

extension ConsoleState {
    /// Applies one key and returns the effects it requests. The scope (panes,
    /// a dialog, the filter line) selects the key's meaning in ``KeyMap``.
    public mutating func handle(_ key: Key, views: PaneViews, context: ControlContext) -> [ConsoleEffect] {
        if key == .resize { return [] }
        if filterDraft != nil { return handleFilterKey(key, context: context) }
        if let dialog { return handleDialogKey(key, dialog: dialog, views: views, context: context) }
        guard let action = KeyMap.action(for: key, in: .panes) else { return [] }
        return perform(action, views: views, context: context)
    }

    // MARK: - Panes

    private mutating func perform(_ action: ConsoleAction, views: PaneViews, context: ControlContext) -> [ConsoleEffect] {
        let index = selectedIndex(focus)
        let page = max(1, (pageSizes[focus] ?? 10) - 1)
        switch action {
        case .quit: return [.quit]
        case .redraw: return [.redraw]
        case .moveUp: select(focus, index: index - 1, views: views)
        case .moveDown: select(focus, index: index + 1, views: views)
        case .pageUp: select(focus, index: index - page, views: views)
        case .pageDown: select(focus, index: index + page, views: views)
        case .top: select(focus, index: 0, views: views)
        case .bottom: select(focus, index: views.count(focus) - 1, views: views)
        case .nextPane: focus = PaneID(rawValue: (focus.rawValue + 1) % PaneID.allCases.count) ?? .dispatchers
        case .previousPane:
            focus = PaneID(rawValue: (focus.rawValue + PaneID.allCases.count - 1) % PaneID.allCases.count) ?? .dispatchers
        case .openDetail: return openDetail(views: views, context: context)
        case .toggleMark: toggleMark(views: views, context: context)
        case .clearMarks:
            post(marked.isEmpty ? "No rows are marked." : "Cleared \(marked.count) marks.", now: context.now)
            marked = []
        case .trigger: openTrigger(context: context)
        case .replaySelected: return replaySelected(views: views, context: context)
        case .replayAll: return replayAll(views: views, context: context)
        case .filter:
            filterBeforeEditing = filter
            filterDraft = filter.text
        case .sortLeft, .sortRight: moveSort(by: action == .sortLeft ? -1 : 1, views: views)
        case .invertSort:
            var order = sort(of: focus)
            order.descending.toggle()
            sorts[focus] = order
        case .togglePause: return [.togglePause]
        case .faster, .slower:
            guard context.isDemoSource else {
                post("The event rate applies to the demo source only.", level: .warning, now: context.now)
                return []
            }
            return [.adjustRate(faster: action == .faster)]
        case .faults: openFaults(views: views, context: context)
        case .help: dialog = .help(scroll: 0)
        default: break
        }
        return []
    }

    private mutating func openDetail(views: PaneViews, context: ControlContext) -> [ConsoleEffect] {
        guard let key = views.key(focus, at: selectedIndex(focus)) else {
            post("The \(focus.title) pane has no row to open.", level: .warning, now: context.now)
            return []
        }
        switch key {
        case .dispatcher(let name): dialog = .detail(.dispatcher(name), scroll: 0, fullValues: false)
        case .queue(let name):
            dialog = .detail(.queue(name, brokerFailures: .loading), scroll: 0, fullValues: false)
            return [.loadBrokerFailures(name)]
        case .batch(let id):
            guard let batch = views.live.first(where: { $0.id == id }) else { return [] }
            dialog = .detail(.batch(batch), scroll: 0, fullValues: false)
        case .failure(let id):
            dialog = .detail(.loadingFailure(id), scroll: 0, fullValues: false)
            return [.loadFailureDetail(id)]
        }
        return []
    }

    private mutating func toggleMark(views: PaneViews, context: ControlContext) {
        guard focus == .failures else {
            post("Marks apply to failures: press Tab to reach the Failures pane.", level: .warning, now: context.now)
            return
        }
        guard case .failure(let id)? = views.key(.failures, at: selectedIndex(.failures)) else { return }
        if marked.contains(id) { marked.remove(id) } else { marked.insert(id) }
        select(.failures, index: selectedIndex(.failures) + 1, views: views)
    }

    private mutating func openTrigger(context: ControlContext) {
        guard !context.models.isEmpty else {
            post("No rules are loaded, so there is nothing to trigger.", level: .warning, now: context.now)
            return
        }
        guard context.canWrite else {
            let text = context.writeTargets.refusal("Triggering a dispatch", dispatchers: context.writeTargets.ruleDispatchers)
            post(text, level: .error, fix: WriteTargets.writeFix, now: context.now)
            return
        }
        dialog = .trigger(TriggerForm(models: context.models))
    }

    private mutating func openFaults(views: PaneViews, context: ControlContext) {
        guard !context.dispatcherNames.isEmpty else {
            post("No dispatchers are registered.", level: .warning, now: context.now)
            return
        }
        var selected: String?
        if focus == .dispatchers, case .dispatcher(let name)? = views.key(.dispatchers, at: selectedIndex(.dispatchers)) {
            selected = name
        }
        dialog = .faults(FaultForm(dispatchers: context.dispatcherNames, selected: selected, current: context.faults))
    }

    private mutating func replaySelected(views: PaneViews, context: ControlContext) -> [ConsoleEffect] {
        var ids = marked.sorted()
        if ids.isEmpty, focus == .failures, case .failure(let id)? = views.key(.failures, at: selectedIndex(.failures)) {
            ids = [id]
        }
        guard !ids.isEmpty else {
            post("Select or mark a failure to replay (Tab to the Failures pane).", level: .warning, now: context.now)
            return []
        }
        let dispatchers = ids.map { id in views.failures.first { $0.id == id }?.dispatcher }
        return startReplay(.replay(ids), dispatchers: dispatchers, context: context)
    }

    private mutating func replayAll(views: PaneViews, context: ControlContext) -> [ConsoleEffect] {
        guard context.openFailures > 0 else {
            post("There are no open failures to replay.", now: context.now)
            return []
        }
        guard context.canWrite else {
            let dispatchers = Set(views.failures.lazy.filter { $0.status == .open }.map(\.dispatcher))
            let text = context.writeTargets.refusal("Replaying every open failure", dispatchers: dispatchers.sorted())
            post(text, level: .error, fix: WriteTargets.writeFix, now: context.now)
            return []
        }
        dialog = .confirmReplayAll(open: context.openFailures)
        return []
    }

    /// Opens the progress window and returns `effect`, unless write mode or
    /// a running replay stops it.
    /// - Parameter dispatchers: the dispatchers of the entries, which decide
    ///   where the replay writes; nil for an entry that is not listed.
    private mutating func startReplay(
        _ effect: ConsoleEffect, dispatchers: [String?], context: ControlContext, clearsMarks: Bool = true
    ) -> [ConsoleEffect] {
        guard context.canWrite else {
            let subject: String
            if case .replay(let ids) = effect, ids.count == 1 {
                subject = "Replaying failure \(ids[0])"
            } else if case .replay(let ids) = effect {
                subject = "Replaying \(ids.count) failures"
            } else {
                subject = "Replaying every open failure"
            }
            post(context.writeTargets.refusal(subject, dispatchers: dispatchers), level: .error, fix: WriteTargets.writeFix, now: context.now)
            return []
        }
        guard !context.replayRunning, !context.requeueRunning else {
            let job = context.replayRunning ? "A replay" : "A requeue"
            post("\(job) is already running; wait for it or press s in its window to stop it.", level: .warning, now: context.now)
            return []
        }
        if clearsMarks { marked = [] }
        dialog = .replayProgress
        return [effect]
    }

    private mutating func moveSort(by step: Int, views: PaneViews) {
        let count = views.columnCount(focus)
        guard count > 0 else { return }
        let current = sort(of: focus).column
        let next: Int
        if current < 0 {
            // The live list starts in the engine's own order (column -1).
            next = step > 0 ? 0 : count - 1
        } else {
            next = (current + step + count) % count
        }
        sorts[focus] = SortOrder(column: next, descending: views.startsDescending(focus, column: next))
    }

    // MARK: - Filter line

    private mutating func handleFilterKey(_ key: Key, context: ControlContext) -> [ConsoleEffect] {
        var draft = filterDraft ?? ""
        if case .character(let character) = key {
            draft.append(character)
        } else {
            switch KeyMap.action(for: key, in: .filter) {
            case .confirm?:
                filterDraft = nil
                filterDue = nil
                filter = FilterQuery(draft)
                let warnings = filter.warnings()
                if !warnings.isEmpty {
                    post(warnings.joined(separator: " "), level: .warning, topic: .filter, now: context.now)
                } else if status?.topic == .filter {
                    // The warning was about the filter this one replaces.
                    status = nil
                }
                return []
            case .close?:
                filterDraft = nil
                filterDue = nil
                filter = filterBeforeEditing
                return []
            case .deleteCharacter?:
                if !draft.isEmpty { draft.removeLast() }
            case .clearField?:
                draft = ""
            default:
                return []
            }
        }
        filterDraft = draft
        filterDue = context.now + Self.filterDelay
        return []
    }

    // MARK: - Dialogs

    private mutating func handleDialogKey(
        _ key: Key, dialog current: Dialog, views: PaneViews, context: ControlContext
    ) -> [ConsoleEffect] {
        switch current {
        case .help(let scroll):
            guard let action = KeyMap.action(for: key, in: .detail) else { return [] }
            if action == .close { dialog = nil } else { dialog = .help(scroll: Self.scrolled(scroll, action)) }
        case .detail(let target, let scroll, let full):
            guard let action = KeyMap.action(for: key, in: .detail) else { return [] }
            if case .queue(let name, let failures, let selected) = target {
                let depth = views.queues.first { $0.depth.name == name }?.depth
                return handleQueueDetailKey(
                    action, queue: name, failures: failures, depth: depth, selected: selected, scroll: scroll, full: full,
                    context: context)
            }
            switch action {
            case .close: dialog = nil
            case .toggleFullValues: dialog = .detail(target, scroll: scroll, fullValues: !full)
            case .replaySelected:
                // A detail view acts on the entry it shows, never on the
                // pane's selection or marks, which move while it is open.
                guard let id = target.failureID else {
                    post("Only a failure can be replayed, or a queue's failed message requeued.", level: .warning, now: context.now)
                    return []
                }
                return startReplay(.replay([id]), dispatchers: [target.failureDispatcher], context: context, clearsMarks: false)
            case .replayAll:
                post("R requeues a queue's failed messages: open a row of the Queues pane.", level: .warning, now: context.now)
            default: dialog = .detail(target, scroll: Self.scrolled(scroll, action), fullValues: full)
            }
        case .trigger(var form):
            return handleTriggerKey(key, form: &form, context: context)
        case .faults(var form):
            return handleFaultKey(key, form: &form, context: context)
        case .confirmReplayAll:
            switch KeyMap.action(for: key, in: .prompt) {
            case .confirm?:
                dialog = nil
                return startReplay(.replayAll, dispatchers: [nil], context: context)
            case .close?: dialog = nil
            default: break
            }
        case .replayProgress:
            switch KeyMap.action(for: key, in: .prompt) {
            case .close?: dialog = nil
            case .stopReplay?: return context.replayRunning ? [.stopReplay] : []
            default: break
            }
        case .confirmRequeueAll(let request):
            switch KeyMap.action(for: key, in: .prompt) {
            case .confirm?: return startRequeue(request, context: context)
            case .close?: dialog = .detail(.queue(request.queue, brokerFailures: .loaded(request.messages)), scroll: 0, fullValues: false)
            default: break
            }
        case .requeueProgress(let queue):
            switch KeyMap.action(for: key, in: .prompt) {
            case .close?:
                // Back to the queue, with its failed messages read again.
                dialog = .detail(.queue(queue, brokerFailures: .loading), scroll: 0, fullValues: false)
                return [.loadBrokerFailures(queue)]
            case .stopReplay?: return context.requeueRunning ? [.stopRequeue] : []
            default: break
            }
        }
        return []
    }

    // MARK: - Queue detail and requeue

    /// Handles a key in a queue's detail view: the movement keys select a failed
    /// message at the broker, `r` requeues it and `R` requeues them all.
    private mutating func handleQueueDetailKey(
        _ action: ConsoleAction, queue: String, failures: BrokerFailures, depth: QueueDepth?, selected: Int, scroll: Int,
        full: Bool, context: ControlContext
    ) -> [ConsoleEffect] {
        let counted = depth?.failed
        let countUnknown = depth != nil && counted == nil
        let messages = failures.messages
        switch action {
        case .close:
            dialog = nil
        case .toggleFullValues:
            dialog = .detail(.queue(queue, brokerFailures: failures, selected: selected), scroll: scroll, fullValues: !full)
        case .replaySelected:
            guard let message = messages.indices.contains(selected) ? messages[selected] : nil else {
                postNothingToRequeue(failures, countUnknown: countUnknown, context: context)
                return []
            }
            let request = RequeueRequest(queue: queue, messages: [message], brokerLabel: context.writeTargets.brokerLabel)
            return startRequeue(request, context: context)
        case .replayAll:
            guard !messages.isEmpty else {
                postNothingToRequeue(failures, countUnknown: countUnknown, context: context)
                return []
            }
            let request = RequeueRequest(
                queue: queue, messages: messages, brokerLabel: context.writeTargets.brokerLabel, drainsQueue: true,
                expectedCount: counted)
            guard checkRequeueAllowed(request, context: context) else { return [] }
            dialog = .confirmRequeueAll(request)
        default:
            if messages.isEmpty {
                dialog = .detail(.queue(queue, brokerFailures: failures), scroll: Self.scrolled(scroll, action), fullValues: full)
            } else {
                let moved = Self.scrolled(selected, action)
                let clamped = min(max(0, moved), messages.count - 1)
                dialog = .detail(.queue(queue, brokerFailures: failures, selected: clamped), scroll: scroll, fullValues: full)
            }
        }
        return []
    }

    private mutating func postNothingToRequeue(_ failures: BrokerFailures, countUnknown: Bool, context: ControlContext) {
        if case .loaded = failures, countUnknown {
            post("This broker keeps this queue's failures where dispatchtop cannot read them, so none can be requeued here.",
                 level: .warning, now: context.now)
            return
        }
        switch failures {
        case .loading: post("The broker's failed messages are still being read.", level: .warning, now: context.now)
        case .noBroker: post("No broker is configured, so there is nothing to requeue.", level: .warning, now: context.now)
        case .loaded: post("The broker has no failed message in this queue to requeue.", now: context.now)
        }
    }

    /// Returns whether write mode and the background jobs allow `request`,
    /// posting the reason when they do not.
    private mutating func checkRequeueAllowed(_ request: RequeueRequest, context: ControlContext) -> Bool {
        guard context.canWrite else {
            let subject = request.messages.count == 1
                ? "Requeueing failed message \(request.messages[0].messageID)"
                : "Requeueing \(request.messages.count) failed messages"
            let systems = Set(request.messages.map(\.system.rawValue)).sorted()
            post(context.writeTargets.refusal(subject, dispatchers: systems), level: .error, fix: WriteTargets.writeFix, now: context.now)
            return false
        }
        guard !context.requeueRunning, !context.replayRunning else {
            let job = context.requeueRunning ? "A requeue" : "A replay"
            post("\(job) is already running; wait for it or press s in its window to stop it.", level: .warning, now: context.now)
            return false
        }
        return true
    }

    /// Opens the requeue window and returns the effect that starts the requeue.
    private mutating func startRequeue(_ request: RequeueRequest, context: ControlContext) -> [ConsoleEffect] {
        guard checkRequeueAllowed(request, context: context) else { return [] }
        dialog = .requeueProgress(queue: request.queue)
        return [.requeue(request)]
    }

    private static func scrolled(_ scroll: Int, _ action: ConsoleAction) -> Int {
        switch action {
        case .moveUp: return max(0, scroll - 1)
        case .moveDown: return scroll + 1
        case .pageUp: return max(0, scroll - 10)
        case .pageDown: return scroll + 10
        case .top: return 0
        case .bottom: return Int.max / 2
        default: return scroll
        }
    }

    private mutating func handleTriggerKey(_ key: Key, form: inout TriggerForm, context: ControlContext) -> [ConsoleEffect] {
        if !form.focus.isChoice, case .character(let character) = key {
            form.type(character)
            dialog = .trigger(form)
            return []
        }
        switch KeyMap.action(for: key, in: .form) {
        case .close?:
            dialog = nil
            return []
        case .confirm?:
            switch form.event() {
            case .success(let event):
                dialog = nil
                return [.trigger(event)]
            case .failure(let error):
                post(error.message, level: .error, now: context.now)
            }
        case .nextField?: form.moveFocus(by: 1)
        case .previousField?: form.moveFocus(by: -1)
        case .nextChoice?: form.cycle(by: 1)
        case .previousChoice?: form.cycle(by: -1)
        case .deleteCharacter?: form.deleteBackward()
        case .clearField?: form.clearField()
        default: break
        }
        dialog = .trigger(form)
        return []
    }

    private mutating func handleFaultKey(_ key: Key, form: inout FaultForm, context: ControlContext) -> [ConsoleEffect] {
        if form.focus != .dispatcher, case .character(let character) = key {
            form.type(character)
            dialog = .faults(form)
            return []
        }
        switch KeyMap.action(for: key, in: .form) {
        case .close?:
            dialog = nil
            return []
        case .confirm?:
            switch form.setting() {
            case .success(let setting):
                dialog = nil
                return [.setFault(form.dispatcher, setting)]
            case .failure(let error):
                post(error.message, level: .error, now: context.now)
            }
        case .nextField?: form.moveFocus(by: 1)
        case .previousField?: form.moveFocus(by: -1)
        case .nextChoice?: form.cycle(by: 1, current: context.faults)
        case .previousChoice?: form.cycle(by: -1, current: context.faults)
        case .deleteCharacter?: form.deleteBackward()
        case .clearField?: form.clearField()
        default: break
        }
        dialog = .faults(form)
        return []
    }
}
