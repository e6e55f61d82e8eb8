import Foundation

// Benchmarks print their figures; the machine and the command go beside them
// in benchmarks/README.md. Run with `swift run -c release dispatchtop-bench`.
exit(BenchmarkMain.run(Array(CommandLine.arguments.dropFirst())))
