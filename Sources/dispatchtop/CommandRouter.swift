import Engine
import Foundation

/// Picks the command from the first argument and maps errors to exit codes:
/// 0 ran, 1 failed at run time, 2 bad usage or configuration.
enum CommandRouter {
    static let version = "dispatchtop 0.1.0"

    static func main(_ arguments: [String]) -> Int32 {
        let command = arguments.first.flatMap { $0.hasPrefix("-") ? nil : $0 }
        let rest = command == nil ? arguments : Array(arguments.dropFirst())
        do {
            switch command {
            case nil:
                // --once has its own help, which `--once --help` prints.
                if rest.contains("--once") { return try OnceCommand.run(rest) }
                if rest.contains("--help") || rest.contains("-h") {
                    print(HelpText.main)
                    return 0
                }
                if rest.contains("--version") {
                    print(version)
                    return 0
                }
                return try ConsoleCommand.run(rest)
            case "run": return try RunCommand.run(rest)
            case "check": return try CheckCommand.run(rest)
            case "dispatchers": return try DispatchersCommand.run(rest)
            case "replay": return try ReplayCommand.run(rest)
            case "generate": return try GenerateCommand.run(rest)
            case "help":
                print(HelpText.main)
                return 0
            case let other?:
                let known = ["run", "check", "dispatchers", "replay", "generate", "help"]
                let hint = NameSuggestion.closest(to: other, in: known).map { " Did you mean '\($0)'?" } ?? ""
                throw UsageError(message: "Unknown command '\(other)'.\(hint)", command: "")
            }
        } catch let error as UsageError {
            printError(error.description)
            return 2
        } catch let error as ConfigurationError {
            printError("Invalid configuration: \(error)")
            return 2
        } catch let error as SetupError {
            printError(error.message)
            return 2
        } catch {
            printError("dispatchtop: \(error)")
            return 1
        }
    }
}

/// Writes a line to standard error.
func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}
