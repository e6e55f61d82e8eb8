import Engine
import Foundation

/// `dispatchtop generate`: write demo events for a configuration as JSON Lines.
enum GenerateCommand {
    static let help = """
        Usage: dispatchtop generate [--config FILE] [--count N] [--seed N] [--key-space N]

        Writes N change events (default 10000) for the models of the configuration (the bundled demo
        when left out) to standard output as JSON Lines: about 60 % partial saves, 15 % full saves,
        15 % creates and 10 % deletes. The same seed gives the same events. --key-space N (default 60)
        sets how many existing records per model the saves and deletes pick from, as primary keys 1
        to N; each create takes the next key above those, so created records go beyond N.
        """

    static func run(_ raw: [String]) throws -> Int32 {
        let arguments = try Arguments(raw, command: "generate", valued: ["--config", "--count", "--seed", "--key-space"], flags: [])
        if arguments.wantsHelp {
            print(help)
            return 0
        }
        try arguments.rejectPositional()
        let configuration = try ConfigurationLoader.load(path: try arguments.value("--config") ?? DemoAssets.configPath())
        let count = try arguments.integer("--count", range: 1...100_000_000) ?? 10_000
        let seed = try arguments.integer("--seed", range: 0...Int.max) ?? 7
        let keySpace = try arguments.integer("--key-space", range: 1...1_000_000_000) ?? 60
        var generator = DemoEventGenerator(configuration: configuration, seed: UInt64(seed), keySpace: Int64(keySpace))
        let writer = LineWriter()
        for _ in 0..<count {
            guard let event = generator.next() else {
                throw SetupError(message: "The configuration has no rules, so there is nothing to generate events for.")
            }
            var line = JSONWriter.bytes(event.json)
            line.append(0x0A)
            writer.write(line)
        }
        writer.flush()
        return 0
    }
}
