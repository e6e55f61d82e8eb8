/// `dispatchtop [options]`: the console.
///
/// NOTE: the console front end is not wired in yet; this entry point
/// reports that and exits with status 1.
enum ConsoleCommand {
    static func run(_ raw: [String]) throws -> Int32 {
        let arguments = try Arguments(
            raw, command: "", valued: EngineOptions.valuedOptions + ["--events", "--rate", "-d"],
            flags: ["--write", "--follow", "--no-color", "--ascii"])
        if arguments.has("--help") {
            print(HelpText.console)
            return 0
        }
        printError("The console is not available in this build yet; use 'dispatchtop run' or 'dispatchtop --once'.")
        return 1
    }
}
