import FailoverCore
import FailoverSim

/// Totals over a batch of seeds, printed as a table.
struct BatchSummary {
    var seeds = 0
    var failedSeeds = 0
    var simulated = Duration.zero
    var steps = 0
    var failovers = 0
    var handoffs = 0
    var maxNoHolder = Duration.zero
    var maxDualHolder = Duration.zero
    var maxConnectedDual = Duration.zero
    var forgeries = 0
    var forgeriesRejected = 0
    var violations: [Violation.Invariant: Int] = [:]

    mutating func add(_ report: SimulationReport) {
        seeds += 1
        if !report.passed { failedSeeds += 1 }
        simulated += report.simulated
        steps += report.steps
        failovers += report.failovers
        handoffs += report.handoffs
        maxNoHolder = max(maxNoHolder, report.maxNoHolder)
        maxDualHolder = max(maxDualHolder, report.maxDualHolder)
        maxConnectedDual = max(maxConnectedDual, report.maxConnectedDualHolder)
        forgeries += report.forgeries
        forgeriesRejected += report.forgeriesRejected
        for violation in report.violations { violations[violation.invariant, default: 0] += 1 }
    }

    func table(profile: SimulationOptions.Profile) -> String {
        let hours = Double(simulated.nanoseconds) / 3.6e12
        var rows: [(String, String)] = [
            ("profile", profile.rawValue),
            ("seeds", "\(seeds)"),
            ("seeds failed", "\(failedSeeds)"),
            ("simulated hours", String(format1: hours)),
            ("events", "\(steps)"),
            ("failovers (by election)", "\(failovers)"),
            ("planned handoffs", "\(handoffs)"),
            ("max failover time (no holder)", maxNoHolder.compactDescription),
            ("max dual-holder time (any cause)", maxDualHolder.compactDescription),
            ("max dual-holder time (connected)", maxConnectedDual.compactDescription),
            ("forged/replayed datagrams", "\(forgeries)"),
            ("  of which rejected", "\(forgeriesRejected)"),
        ]
        for invariant in Violation.Invariant.allCases {
            rows.append(("violations: \(invariant.rawValue)", "\(violations[invariant, default: 0])"))
        }
        let width = rows.map(\.0.count).max() ?? 0
        return rows.map { name, value in
            "| " + name + String(repeating: " ", count: width - name.count) + " | " + value + " |"
        }.joined(separator: "\n")
    }
}

extension String {
    /// A number with one decimal.
    init(format1 value: Double) {
        let tenths = Int((value * 10).rounded())
        self = "\(tenths / 10).\(tenths % 10)"
    }
}
