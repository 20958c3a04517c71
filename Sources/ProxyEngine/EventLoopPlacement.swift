import CFailoverNet
import Foundation
import NIOCore
import NIOPosix

/// How many event loops the engine runs and on which CPUs.
///
/// Without `nbthread`: one loop per CPU the process may run on, each pinned to its CPU. Pinned loops keep
/// their connections' data in one CPU's cache and are not moved by the scheduler in the middle of a burst;
/// on the 2-core benchmark machine this halves the p99 latency under load (docs/benchmarks.md, run 3).
/// With `nbthread N`: N loops the scheduler places freely (HAProxy's behaviour without `cpu-map`). Loops are
/// not pinned either when a CPU quota (cgroup `cpu.max`) allows fewer CPUs than the affinity mask lists.
public enum EventLoopPlacement {
    /// The CPUs this process may run on (its affinity mask, which systemd's `CPUAffinity=` and cpusets set,
    /// from `/proc/self/status`), in increasing order; empty if it cannot be read.
    public static func allowedCPUs() -> [Int] {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Cpus_allowed_list:") })
        else { return [] }
        return cpuList(String(line.dropFirst("Cpus_allowed_list:".count)))
    }

    /// A kernel CPU list (`0-3,8,10-11`) as CPU numbers; empty if it is malformed.
    public static func cpuList(_ text: String) -> [Int] {
        var cpus: [Int] = []
        for part in text.split(separator: ",") {
            let bounds = part.split(separator: "-", maxSplits: 1).map {
                Int($0.trimmingCharacters(in: .whitespacesAndNewlines))
            }
            guard let first = bounds.first ?? nil, let last = bounds.last ?? nil, first <= last, last < 65_536 else {
                return []
            }
            cpus.append(contentsOf: first...last)
        }
        return cpus
    }

    /// The CPUs to pin one loop each to, or nil to run `threads ?? System.coreCount` loops unpinned.
    public static func pinnedCPUs(threads: Int?) -> [Int]? {
        guard threads == nil else { return nil }
        let cpus = allowedCPUs()
        guard cpus.count > 1, cpus.count == System.coreCount else { return nil }
        return cpus
    }

    /// The engine's event loop group, placed as described above, and the CPUs its loops are pinned to (empty
    /// when they are not). A loop that cannot be pinned (a seccomp filter without `sched_setaffinity`) runs
    /// unpinned; `failures` says why.
    public static func makeGroup(
        threads: Int?
    ) -> (group: MultiThreadedEventLoopGroup, pinned: [Int], failures: [String]) {
        guard let cpus = pinnedCPUs(threads: threads) else {
            return (MultiThreadedEventLoopGroup(numberOfThreads: threads ?? System.coreCount), [], [])
        }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: cpus.count)
        var pinned: [Int] = []
        var failures: [String] = []
        for (loop, cpu) in zip(group.makeIterator(), cpus) {
            let result = (try? loop.submit { fa_pin_current_thread(Int32(cpu)) }.wait()) ?? -EIO
            if result == 0 {
                pinned.append(cpu)
            } else {
                failures.append("CPU \(cpu): \(String(cString: strerror(-result)))")
            }
        }
        return (group, pinned, failures)
    }
}
