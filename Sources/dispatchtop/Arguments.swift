/// A command line that cannot be used, with the fix.
struct UsageError: Error, CustomStringConvertible {
    var message: String
    var command: String

    var description: String {
        "\(message)\nRun 'dispatchtop \(command.isEmpty || command.hasPrefix("-") ? "" : command + " ")--help' for the options."
    }
}

/// Parses `--flag value`, `--flag=value`, `-d value` and bare flags against a
/// declared set, rejecting anything unknown with a suggestion.
struct Arguments {
    /// Options that take a value, with their short forms.
    let valued: [String]
    /// Options that take no value.
    let flags: [String]
    let command: String
    private(set) var values: [String: [String]] = [:]
    private(set) var present: Set<String> = []
    private(set) var positional: [String] = []

    init(_ arguments: [String], command: String, valued: [String], flags: [String]) throws(UsageError) {
        self.valued = valued
        self.flags = flags + ["--help", "-h"]
        self.command = command
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            if argument == "-" || !argument.hasPrefix("-") {
                positional.append(argument)
                continue
            }
            var name = argument
            var inline: String?
            if let equals = argument.firstIndex(of: "="), argument.hasPrefix("--") {
                name = String(argument[..<equals])
                inline = String(argument[argument.index(after: equals)...])
            }
            if valued.contains(name) {
                let value: String
                if let inline {
                    value = inline
                } else {
                    guard index < arguments.count else {
                        throw UsageError(message: "\(name) needs a value.", command: command)
                    }
                    value = arguments[index]
                    index += 1
                }
                values[name, default: []].append(value)
                present.insert(name)
            } else if self.flags.contains(name) {
                if inline != nil { throw UsageError(message: "\(name) takes no value.", command: command) }
                present.insert(name)
            } else if !command.isEmpty, Self.consoleOnly.contains(name) {
                // The interactive console parses with an empty command name.
                throw UsageError(
                    message: "\(name) applies to the interactive console only, not to '\(command)'. Leave it out.",
                    command: command)
            } else {
                let known = valued + flags
                let hint = NameSuggestion.closest(to: name, in: known).map { " Did you mean '\($0)'?" } ?? ""
                throw UsageError(message: "Unknown option '\(name)'.\(hint)", command: command)
            }
        }
    }

    /// Options that only the interactive console reads.
    static let consoleOnly: Set<String> = ["-d", "--no-color", "--ascii"]

    func has(_ name: String) -> Bool { present.contains(name) }

    /// True for `--help` or `-h`.
    var wantsHelp: Bool { has("--help") || has("-h") }

    func value(_ name: String) -> String? { values[name]?.last }

    func all(_ name: String) -> [String] { values[name] ?? [] }

    func double(_ name: String, range: ClosedRange<Double>) throws(UsageError) -> Double? {
        guard let text = value(name) else { return nil }
        guard let number = Double(text), range.contains(number) else {
            throw UsageError(
                message: "\(name) '\(text)' is not a number from \(format(range.lowerBound)) to \(format(range.upperBound)).",
                command: command)
        }
        return number
    }

    func integer(_ name: String, range: ClosedRange<Int>) throws(UsageError) -> Int? {
        guard let text = value(name) else { return nil }
        guard let number = Int(text), range.contains(number) else {
            throw UsageError(message: "\(name) '\(text)' is not a whole number from \(range.lowerBound) to \(range.upperBound).", command: command)
        }
        return number
    }

    func rejectPositional() throws(UsageError) {
        if let first = positional.first {
            throw UsageError(message: "Unexpected argument '\(first)'.", command: command)
        }
    }

    private func format(_ number: Double) -> String {
        number == number.rounded() ? String(Int(number)) : String(number)
    }
}

import Engine
