import Brokers
import Engine

/// The engine, event source, replayer and broker the console watches and acts on, set up by the executable.
public struct ConsoleSession: Sendable {
    public var engine: Engine
    /// The event source; the console starts it when it starts and stops it on exit.
    public var pump: EventPump?
    public var replayer: Replayer
    /// The broker that broker dispatchers send to, when one is configured.
    public var broker: (any MessageBroker)?
    /// Header labels, e.g. `embedded` or a Redis URL without its password.
    public var brokerLabel: String
    public var cacheLabel: String
    public var writeMode: WriteMode
    /// The reason the console has no event source, when that is not the
    /// operator's choice. It is shown at start and when `p` finds nothing to pause.
    public var noSourceReason: String?

    public init(
        engine: Engine, pump: EventPump?, replayer: Replayer? = nil, broker: (any MessageBroker)? = nil,
        brokerLabel: String? = nil, cacheLabel: String? = nil, writeMode: WriteMode = .embedded,
        noSourceReason: String? = nil
    ) {
        self.engine = engine
        self.pump = pump
        self.replayer = replayer ?? Replayer(engine: engine)
        self.broker = broker
        self.brokerLabel = brokerLabel ?? broker?.label ?? "none"
        self.cacheLabel = cacheLabel ?? engine.cache.store.label
        self.writeMode = writeMode
        self.noSourceReason = noSourceReason
    }
}

/// The console's run settings: refresh delay, colours, glyphs and the log file.
public struct ConsoleOptions: Sendable, Equatable {
    /// Time between refreshes in tenths of a second, as htop's `-d`.
    public var refreshTenths: Int
    /// Turn colours off (also when the `NO_COLOR` variable is set and not empty).
    public var noColor: Bool
    /// Use ASCII for borders, sparklines and markers.
    public var ascii: Bool
    /// The file standard error goes to while the console owns the terminal; nil leaves it alone.
    public var logPath: String?

    public init(refreshTenths: Int = 10, noColor: Bool = false, ascii: Bool = false, logPath: String? = nil) {
        self.refreshTenths = refreshTenths
        self.noColor = noColor
        self.ascii = ascii
        self.logPath = logPath
    }

    /// The refresh delay in milliseconds, kept between 100 ms and 10 s.
    var refreshMilliseconds: Int { min(10_000, max(100, refreshTenths * 100)) }

    /// Reads the console's own flags (`-d N`, `--delay N`, `--no-color`,
    /// `--ascii`) from `arguments`, returning the options and the arguments
    /// it did not recognise, in order.
    public static func parse(_ arguments: [String]) throws(ConsoleOptionsError) -> (ConsoleOptions, [String]) {
        var options = ConsoleOptions()
        var rest: [String] = []
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            switch argument {
            case "-d", "--delay":
                guard index + 1 < arguments.count else { throw .missingValue(argument) }
                let value = arguments[index + 1]
                guard let tenths = Int(value), (1...100).contains(tenths) else { throw .invalidDelay(value) }
                options.refreshTenths = tenths
                index += 1
            case "--no-color", "--no-colour":
                options.noColor = true
            case "--ascii":
                options.ascii = true
            default:
                rest.append(argument)
            }
            index += 1
        }
        return (options, rest)
    }
}

/// A console flag with a bad value.
public enum ConsoleOptionsError: Error, Sendable, Equatable, CustomStringConvertible {
    case missingValue(String)
    case invalidDelay(String)

    public var description: String {
        switch self {
        case .missingValue(let flag):
            return "The option '\(flag)' needs a value, e.g. '\(flag) 10' for one second."
        case .invalidDelay(let value):
            return "The refresh delay '\(value)' is not a whole number of tenths of a second from 1 to 100; '-d 10' refreshes every second."
        }
    }
}
