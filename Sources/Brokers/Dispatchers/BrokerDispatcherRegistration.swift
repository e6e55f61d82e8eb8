import Engine

/// Registers `celery`, `django_rq`, `django_q` and `dramatiq`, all sending
/// to `broker`. Registering replaces dispatchers of the same names.
///
/// - Parameters:
///   - rules: where the dispatchers read rule fingerprints from; set it once
///     the rule set is compiled, and again after each reload.
///   - outbox: receives batches the broker refused as unavailable; nil fails
///     them with kind `broker`.
public func registerBrokerDispatchers(
    in registry: DispatcherRegistry, broker: any MessageBroker, rules: RuleSetReference = RuleSetReference(),
    outbox: BrokerOutbox? = nil, logger: Logger = .disabled
) {
    let context = BrokerDispatchContext(broker: broker, rules: rules, outbox: outbox, logger: logger)
    let registrations = [
        DispatcherRegistration(name: CeleryDispatcher.registeredName) { options throws(DispatcherConfigurationError) in
            try CeleryDispatcher(options: options, context: context)
        },
        DispatcherRegistration(name: DjangoRQDispatcher.registeredName) { options throws(DispatcherConfigurationError) in
            try DjangoRQDispatcher(options: options, context: context)
        },
        DispatcherRegistration(name: DjangoQDispatcher.registeredName) { options throws(DispatcherConfigurationError) in
            try DjangoQDispatcher(options: options, context: context)
        },
        DispatcherRegistration(name: DramatiqDispatcher.registeredName) { options throws(DispatcherConfigurationError) in
            try DramatiqDispatcher(options: options, context: context)
        },
    ]
    for registration in registrations {
        // Registering fails only for an empty name, and these names are constants.
        try! registry.register(registration)
    }
}
