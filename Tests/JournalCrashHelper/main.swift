// Writes failed batches to a failure journal, printing each journal id on
// standard output once `record` has returned, then sleeps until killed.
//
// Usage: journal-crash-helper JOURNAL_PATH COUNT
//
// The journal durability test kills this process with SIGKILL while it
// writes, reopens the journal and checks that every printed id is there.
import Engine
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Writes `text` to standard output with one unbuffered `write`, so the
/// parent sees each line as soon as it is written.
func writeLine(_ text: String) {
    var bytes = Array((text + "\n").utf8)
    var offset = 0
    while offset < bytes.count {
        let written = bytes.withUnsafeMutableBytes { raw in
            write(STDOUT_FILENO, raw.baseAddress! + offset, raw.count - offset)
        }
        if written <= 0 { exit(3) }
        offset += written
    }
}

let arguments = CommandLine.arguments
guard arguments.count == 3, let count = Int(arguments[2]), count > 0 else {
    FileHandle.standardError.write(Data("usage: journal-crash-helper JOURNAL_PATH COUNT\n".utf8))
    exit(2)
}

let journal: FailureJournal
do {
    journal = try FailureJournal(path: arguments[1])
} catch {
    FileHandle.standardError.write(Data("cannot open the journal: \(error)\n".utf8))
    exit(1)
}

for index in 1...count {
    let batch = Batch(
        id: UInt64(index), dispatcher: "threadpool", batchKey: "threadpool", model: "crash.Model", pk: .int(Int64(index)),
        signal: .postSave, ruleIDs: ["crash#\(index)"], restflowRuleIDs: [index],
        ruleKwargs: JSONObject([("crash#\(index)", .object(JSONObject([("pk", .int(Int64(index)))])))]),
        createdAt: Double(index))
    let error = BatchError(kind: .cache, message: "write \(index) failed on purpose", ruleID: "crash#\(index)")
    do {
        let id = try journal.record(batch, error: error, attempts: 1, ruleFingerprints: [:], at: Double(index))
        writeLine("\(id) \(index)")
    } catch {
        FileHandle.standardError.write(Data("record \(index) failed: \(error)\n".utf8))
        exit(1)
    }
}
writeLine("done")
while true {
    sleep(60)
}
