import Foundation

/// CPU and scheduler counters of one process's threads, from Linux's
/// /proc/PID/task/TID/schedstat and status, for figures that wall-clock
/// time alone cannot give on a shared machine.
struct SchedulerCounters {
    /// Nanoseconds the threads ran on a CPU.
    var running: Int = 0
    /// Nanoseconds the threads were runnable but waited for a CPU.
    var waitingForCPU: Int = 0
    var voluntarySwitches: Int = 0
    var involuntarySwitches: Int = 0
    /// Per thread id, its running nanoseconds, to tell which threads did the work.
    var runningByThread: [Int: Int] = [:]

    /// Reads the counters of every thread of process `pid` now.
    static func read(pid: Int32) -> SchedulerCounters {
        var counters = SchedulerCounters()
        let folder = "/proc/\(pid)/task"
        for thread in (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [] {
            guard let schedstat = try? String(contentsOfFile: "\(folder)/\(thread)/schedstat", encoding: .utf8) else { continue }
            let fields = schedstat.split(separator: " ").compactMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
            guard fields.count >= 2 else { continue }
            counters.running += fields[0]
            counters.waitingForCPU += fields[1]
            counters.runningByThread[Int(thread) ?? 0] = fields[0]
            let status = (try? String(contentsOfFile: "\(folder)/\(thread)/status", encoding: .utf8)) ?? ""
            for line in status.split(separator: "\n") {
                let parts = line.split(separator: ":")
                guard parts.count == 2, let value = Int(parts[1].trimmingCharacters(in: .whitespaces)) else { continue }
                if parts[0] == "voluntary_ctxt_switches" { counters.voluntarySwitches += value }
                if parts[0] == "nonvoluntary_ctxt_switches" { counters.involuntarySwitches += value }
            }
        }
        return counters
    }

    /// Nanoseconds all CPUs of the machine spent outside the idle and
    /// iowait states, from the first line of /proc/stat.
    static func machineBusy() -> Int {
        guard let stat = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
            let first = stat.split(separator: "\n").first
        else { return 0 }
        let ticks = first.split(separator: " ").dropFirst().compactMap { Int($0) }
        guard ticks.count >= 8 else { return 0 }
        let busy = ticks[0] + ticks[1] + ticks[2] + ticks[5] + ticks[6] + ticks[7]
        return busy * (1_000_000_000 / sysconf(Int32(_SC_CLK_TCK)))
    }

    /// Returns the change from `earlier` to `self`. A thread that started in between counts from zero.
    func since(_ earlier: SchedulerCounters) -> SchedulerCounters {
        var delta = SchedulerCounters(
            running: running - earlier.running, waitingForCPU: waitingForCPU - earlier.waitingForCPU,
            voluntarySwitches: voluntarySwitches - earlier.voluntarySwitches,
            involuntarySwitches: involuntarySwitches - earlier.involuntarySwitches)
        for (thread, nanoseconds) in runningByThread {
            let ran = nanoseconds - (earlier.runningByThread[thread] ?? 0)
            if ran > 0 { delta.runningByThread[thread] = ran }
        }
        return delta
    }
}
