import Foundation
import TestSupport
import Testing

@testable import Engine

/// Kills a process that is writing to the journal with SIGKILL and checks
/// that every failure it reported as written is in the journal.
@Suite struct FailureJournalCrashTests {
    /// Returns the path of `journal-crash-helper`, which is built next to the test binary.
    static func helperPath() throws -> String {
        let testBinary = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        let directory = URL(fileURLWithPath: testBinary).deletingLastPathComponent()
        return directory.appendingPathComponent("journal-crash-helper").path
    }

    /// Returns the `journal-id batch-index` pairs of the complete lines the helper wrote.
    static func reportedWrites(_ path: String) -> [(id: Int64, index: Int)] {
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        lines.removeLast()  // The text after the last newline, empty unless a line was cut.
        return lines.compactMap { line in
            let parts = line.split(separator: " ")
            guard parts.count == 2, let id = Int64(parts[0]), let index = Int(parts[1]) else { return nil }
            return (id, index)
        }
    }

    @Test func everyReportedFailureSurvivesSIGKILL() throws {
        let helper = try Self.helperPath()
        try #require(FileManager.default.isExecutableFile(atPath: helper), "missing \(helper); run swift build first")
        let directory = try TemporaryDirectory(prefix: "journal-crash")
        defer { directory.remove() }
        let journalPath = directory.file("journal.sqlite")

        let child = try ProcessRunner.start([helper, journalPath, "1000000"], outputDirectory: directory.path)
        let enough = waitFor(timeout: 60) { Self.reportedWrites(child.stdoutPath).count >= 200 }
        kill(child.pid, SIGKILL)
        let status = ProcessRunner.wait(child.pid, timeout: 10)
        let stderr = (try? String(contentsOfFile: child.stderrPath, encoding: .utf8)) ?? ""
        try #require(enough, "the helper reported fewer than 200 writes; its stderr: \(stderr)")
        #expect(status == 128 + SIGKILL)

        let reported = Self.reportedWrites(child.stdoutPath)
        #expect(reported.count >= 200)
        #expect(reported.count < 1_000_000)
        #expect(reported.map(\.index) == Array(1...reported.count))

        let journal = try FailureJournal(path: journalPath)
        var missing: [Int64] = []
        for write in reported {
            guard let entry = try journal.entry(write.id) else {
                missing.append(write.id)
                continue
            }
            #expect(entry.batch.id == UInt64(write.index))
            #expect(entry.error.message == "write \(write.index) failed on purpose")
        }
        #expect(missing.isEmpty, "journal ids reported as written but missing: \(missing)")
        // The child may have committed one more write before it could report it.
        let total = journal.listing().total
        #expect(total >= reported.count)
        #expect(total <= reported.count + 1)
    }
}
