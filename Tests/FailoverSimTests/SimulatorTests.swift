import FailoverCore
import FailoverSim
import Testing

/// Runs seeds and returns one line per failing seed (with `SIM_SEED=` to replay it).
func failures(_ seeds: ClosedRange<UInt64>, _ make: (UInt64) -> SimulationOptions) -> [String] {
    seeds.compactMap { seed -> String? in
        let report = Simulator(options: make(seed)).run()
        guard let first = report.violations.first else { return nil }
        return "SIM_SEED=\(seed) \(first) (replay: failover-sim --seed \(seed) --trace)"
    }
}

@Suite("Deterministic simulator")
struct SimulatorTests {
    /// 500 seeds × 2 simulated minutes of chaos, in 10 chunks that run in parallel.
    @Test("chaos: every invariant holds over 500 seeds × 2 simulated minutes", arguments: 0..<10)
    func chaos(chunk: Int) {
        let first = UInt64(chunk * 50 + 1)
        let failed = failures(first...(first + 49)) { SimulationOptions(seed: $0, duration: .seconds(120)) }
        #expect(failed.isEmpty, "\(failed.joined(separator: "\n"))")
    }

    @Test("stability: 20 % and 5 % loss on the two links change no role in 10 simulated minutes", arguments: [1, 2, 3])
    func stability(seed: UInt64) {
        let report = Simulator(
            options: SimulationOptions(seed: seed, duration: .seconds(600), nodeCount: 2, profile: .stability)
        ).run()
        #expect(report.violations.isEmpty, "\(report.violations)")
        #expect(report.failovers == 0)
        #expect(report.roleChanges <= 4)  // initializing → backup on both, backup → primary on one
    }

    @Test("quiet: one election, then nothing", arguments: [2, 3])
    func quiet(nodes: Int) {
        let report = Simulator(
            options: SimulationOptions(seed: 7, duration: .seconds(60), nodeCount: nodes, profile: .quiet)
        ).run()
        #expect(report.passed)
        #expect(report.failovers == 0)
        #expect(report.roleChanges == nodes + 1)
        #expect(report.maxDualHolder == .zero)
    }

    @Test("a seed replays exactly")
    func determinism() {
        let options = SimulationOptions(seed: 42, duration: .seconds(60))
        let a = Simulator(options: options).run()
        let b = Simulator(options: options).run()
        #expect(a.steps == b.steps)
        #expect(a.datagrams == b.datagrams)
        #expect(a.failovers == b.failovers)
        #expect(a.maxNoHolder == b.maxNoHolder)
        #expect(a.roleChanges == b.roleChanges)
    }

    @Test("the chaos actually happens: failovers, handoffs and forgeries are exercised")
    func coverage() {
        var failovers = 0
        var handoffs = 0
        var forgeries = 0
        var rejected = 0
        var releaseSwitches = 0
        var unreadable = 0
        for seed in UInt64(1)...5 {
            let report = Simulator(options: SimulationOptions(seed: seed, duration: .seconds(120))).run()
            failovers += report.failovers
            handoffs += report.handoffs
            forgeries += report.forgeries
            rejected += report.forgeriesRejected
            releaseSwitches += report.releaseSwitches
            unreadable += report.unreadable
        }
        #expect(failovers > 20)
        #expect(handoffs > 10)
        #expect(forgeries > 500)
        #expect(rejected == forgeries)
        // Mixed releases: upgrades and rollbacks happen, and old nodes see datagrams they cannot read.
        #expect(releaseSwitches > 3)
        #expect(unreadable > 0)
    }

    /// Without the copy in the oldest version to a peer not heard lately, a node restarted on the previous
    /// release behind a one-way link claims the VIP its peer holds: the checker must see it.
    @Test("sending only the newest version to a peer not heard lately is caught")
    func brokenNegotiation() {
        var caught: Set<Violation.Invariant> = []
        for seed in UInt64(1)...300 where caught.isEmpty {
            var options = SimulationOptions(seed: seed, duration: .seconds(120))
            options.newestOnlyToUnheard = true
            caught.formUnion(Simulator(options: options).run().violations.map(\.invariant))
        }
        #expect(!caught.isDisjoint(with: [.needlessTakeover, .safety, .negotiation]))
    }

    /// Each deliberately broken rule must be caught by an invariant within a few seeds: the checker can fail.
    @Test(
        "a deliberately broken rule is caught",
        arguments: [
            (ElectionConfiguration.Mutation.skipStartupWait, Violation.Invariant.needlessTakeover),
            (.ignoreStalls, .needlessTakeover),
            (.claimBeforeRelease, .safety),
        ]
    )
    func mutationCaught(mutation: ElectionConfiguration.Mutation, expected: Violation.Invariant) {
        var caught: UInt64?
        for seed in UInt64(1)...40 {
            let report = Simulator(
                options: SimulationOptions(seed: seed, duration: .seconds(120), mutations: [mutation])
            ).run()
            if report.violations.contains(where: { $0.invariant == expected }) {
                caught = seed
                break
            }
        }
        #expect(caught != nil, "\(mutation) was not caught by \(expected) in 40 seeds")
    }
}

@Suite("Simulator: config sync")
struct SimulatorSyncTests {
    @Test("with edits on random nodes, generations never go down and the pair converges after each edit")
    func syncHolds() {
        var edits = 0
        for seed in UInt64(1)...60 {
            let report = Simulator(options: SimulationOptions(seed: seed, duration: .seconds(120), trace: true)).run()
            #expect(report.violations.isEmpty, "seed \(seed): \(report.violations.first.map { "\($0)" } ?? "")")
            edits += report.trace.filter { $0.contains("(edited)") }.count
        }
        #expect(edits > 100)
    }

    @Test("a primary that never re-stamps is caught: the nodes do not converge after a partition")
    func brokenSyncCaught() {
        var caught: UInt64?
        for seed in UInt64(1)...40 {
            var options = SimulationOptions(seed: seed, duration: .seconds(120))
            options.brokenSync = true
            if Simulator(options: options).run().violations.contains(where: { $0.invariant == .configConvergence }) {
                caught = seed
                break
            }
        }
        #expect(caught != nil, "a primary that never re-stamps went unnoticed in 40 seeds")
    }

    @Test("a node that forgets its replay checkpoints on restart is caught accepting a replay of an earlier run")
    func forgottenCheckpointsCaught() {
        var caught: UInt64?
        for seed in UInt64(1)...40 {
            var options = SimulationOptions(seed: seed, duration: .seconds(120))
            options.forgetReplayCheckpoints = true
            if Simulator(options: options).run().violations.contains(where: { $0.invariant == .authenticity }) {
                caught = seed
                break
            }
        }
        #expect(caught != nil, "replays across restarts went unnoticed in 40 seeds")
    }
}
