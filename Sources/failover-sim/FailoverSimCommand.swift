import ArgumentParser
import FailoverCore
import FailoverSim

/// `failover-sim`: runs the deterministic simulator over many seeds and prints a summary table.
@main
struct FailoverSimCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "failover-sim",
        abstract: "Run the election cores of 2-3 nodes over a simulated faulty network and check the invariants.",
        discussion: """
            Every run derives from one 64-bit seed. A failing seed is printed as SIM_SEED=N; replay it with
            `failover-sim --seed N --trace` to see every event up to the violation.
            """
    )

    @Option(help: "Run exactly this seed (also read from SIM_SEED).")
    var seed: UInt64?

    @Option(help: "How many consecutive seeds to run.")
    var seeds: Int = 100

    @Option(help: "The first seed of the batch.")
    var first: UInt64 = 1

    @Option(help: "Simulated seconds per seed.")
    var seconds: Int = 120

    @Option(help: "Nodes per run: 2, 3, or 0 to let each seed pick.")
    var nodes: Int = 0

    @Option(help: "Fault profile: chaos, stability or quiet.")
    var profile: String = "chaos"

    @Option(help: "Break a rule on purpose: skipStartupWait, ignoreStalls or claimBeforeRelease.")
    var mutation: String?

    @Flag(help: "Print the event trace of each run (use with --seed).")
    var trace = false

    mutating func run() throws {
        guard let profile = SimulationOptions.Profile(rawValue: profile) else {
            throw ValidationError("--profile must be one of: chaos, stability, quiet")
        }
        guard [0, 2, 3].contains(nodes) else { throw ValidationError("--nodes must be 2, 3 or 0") }
        var mutations: Set<ElectionConfiguration.Mutation> = []
        if let mutation {
            guard let parsed = ElectionConfiguration.Mutation(rawValue: mutation) else {
                let names = ElectionConfiguration.Mutation.allCases.map(\.rawValue).joined(separator: ", ")
                throw ValidationError("--mutation must be one of: \(names)")
            }
            mutations.insert(parsed)
        }
        let environmentSeed = getenvSeed()
        let seedList: [UInt64] =
            if let single = seed ?? environmentSeed { [single] } else { (0..<UInt64(seeds)).map { first + $0 } }
        var summary = BatchSummary()
        for current in seedList {
            let options = SimulationOptions(
                seed: current,
                duration: .seconds(seconds),
                nodeCount: nodes == 0 ? nil : nodes,
                profile: profile,
                mutations: mutations,
                trace: trace
            )
            let report = Simulator(options: options).run()
            if trace { report.trace.forEach { print($0) } }
            summary.add(report)
            for violation in report.violations.prefix(3) {
                print("SIM_SEED=\(current) \(violation)")
            }
        }
        print(summary.table(profile: profile))
        if summary.failedSeeds > 0 { throw ExitCode(1) }
    }

    private func getenvSeed() -> UInt64? {
        guard let text = ProcessInfoLite.environment("SIM_SEED") else { return nil }
        return UInt64(text)
    }
}
