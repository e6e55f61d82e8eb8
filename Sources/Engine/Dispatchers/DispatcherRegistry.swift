import Synchronization

/// An error from the dispatcher registry.
public enum DispatcherRegistryError: Error, Sendable, Equatable, CustomStringConvertible {
    case emptyName
    case unknownName(String, registered: [String])

    public var description: String {
        switch self {
        case .emptyName:
            return "a dispatcher needs a non-empty name to be registered"
        case .unknownName(let name, let registered):
            let list = registered.isEmpty ? "(none)" : registered.joined(separator: ", ")
            let hint = NameSuggestion.closest(to: name, in: registered).map { " (did you mean '\($0)'?)" } ?? ""
            return "unknown dispatcher '\(name)'\(hint). Registered dispatchers: \(list). "
                + "Use one of these names; a custom dispatcher is a Swift type registered under its name in code, "
                + "before the configuration is loaded"
        }
    }
}

/// How to build a dispatcher from its options.
public struct DispatcherRegistration: Sendable {
    public let name: String
    public let make: @Sendable (DispatcherOptions) throws(DispatcherConfigurationError) -> any Dispatcher

    public init(name: String, make: @escaping @Sendable (DispatcherOptions) throws(DispatcherConfigurationError) -> any Dispatcher) {
        self.name = name
        self.make = make
    }
}

/// Dispatcher types by name. Registering a name again replaces it.
public final class DispatcherRegistry: Sendable {
    private let entries = Mutex<[String: DispatcherRegistration]>([:])

    public init() {}

    /// A registry with `inline`, `threadpool` and `asyncio`.
    public static func withInProcessDispatchers() -> DispatcherRegistry {
        let registry = DispatcherRegistry()
        try! registry.register(InlineDispatcher.self)
        try! registry.register(ThreadPoolDispatcher.self)
        try! registry.register(AsyncTaskDispatcher.self)
        return registry
    }

    public func register(_ registration: DispatcherRegistration) throws(DispatcherRegistryError) {
        guard !registration.name.allSatisfy(\.isWhitespace) else { throw .emptyName }
        entries.withLock { $0[registration.name] = registration }
    }

    public func register<D: RegistrableDispatcher>(_ type: D.Type) throws(DispatcherRegistryError) {
        try register(DispatcherRegistration(name: D.registeredName) { options throws(DispatcherConfigurationError) in
            try D(options: options)
        })
    }

    /// The registration for `name`, or an error listing every registered name.
    public func resolve(_ name: String) throws(DispatcherRegistryError) -> DispatcherRegistration {
        let found = entries.withLock { $0[name] }
        guard let found else { throw .unknownName(name, registered: registeredNames()) }
        return found
    }

    /// Builds a dispatcher for `name` from `options`.
    public func make(_ name: String, options: DispatcherOptions) throws -> any Dispatcher {
        try resolve(name).make(options)
    }

    /// Every registered name, sorted.
    public func registeredNames() -> [String] {
        entries.withLock { $0.keys.sorted() }
    }
}
