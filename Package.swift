// swift-tools-version:6.0
import PackageDescription

// Every C library comes from Debian's -dev packages through a system-library
// target; no outside Swift package is used, so the package builds offline.
let package = Package(
    name: "dispatchtop",
    products: [
        .executable(name: "dispatchtop", targets: ["dispatchtop"]),
        .executable(name: "dispatchtop-bench", targets: ["dispatchtop-bench"]),
        .library(name: "Engine", targets: ["Engine"]),
        .library(name: "Brokers", targets: ["Brokers"]),
        .library(name: "Console", targets: ["Console"]),
    ],
    targets: [
        .systemLibrary(name: "CSQLite", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CNcursesw", providers: [.apt(["libncurses-dev"])]),
        .systemLibrary(name: "CHiredis", providers: [.apt(["libhiredis-dev"])]),
        .systemLibrary(name: "CZlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CCrypto", providers: [.apt(["libssl-dev"])]),
        .target(name: "CTermShim", linkerSettings: [.linkedLibrary("ncursesw")]),
        .target(name: "Engine", dependencies: ["CSQLite"]),
        .target(name: "Brokers", dependencies: ["Engine", "CHiredis", "CZlib", "CCrypto", "CSQLite"]),
        .target(name: "Console", dependencies: ["Engine", "Brokers", "CNcursesw", "CTermShim"]),
        .executableTarget(name: "dispatchtop", dependencies: ["Engine", "Brokers", "Console"]),
        .executableTarget(name: "dispatchtop-bench", dependencies: ["Engine", "Brokers", "Console"]),
        .target(name: "TestSupport", dependencies: ["Engine"]),
        // Writes failures to a journal until it is killed; EngineTests kills it with SIGKILL.
        .executableTarget(name: "journal-crash-helper", dependencies: ["Engine"], path: "Tests/JournalCrashHelper"),
        .testTarget(name: "EngineTests", dependencies: ["Engine", "TestSupport", "journal-crash-helper"]),
        .testTarget(name: "BrokersTests", dependencies: ["Brokers", "Engine", "TestSupport"], exclude: ["Golden"]),
        .testTarget(name: "ConsoleTests", dependencies: ["Console", "Engine", "Brokers", "TestSupport"], exclude: ["Golden"]),
        // Depends on the executable so that `swift test` builds it; the tests run the binary.
        .testTarget(name: "InteropTests", dependencies: ["Brokers", "Engine", "TestSupport", "dispatchtop"]),
        .testTarget(name: "EndToEndTests", dependencies: ["TestSupport", "Engine", "dispatchtop"], exclude: ["Fixtures"]),
    ]
)
