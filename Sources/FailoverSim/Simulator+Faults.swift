import FailoverCore
import FailoverWire

extension Simulator {
    /// Draws the next fault from the seed and schedules it, then the one after.
    func scheduleNextFault() {
        let at = now + random.duration(.milliseconds(300) ... .seconds(4))
        schedule(at: at, "fault") { simulator in
            simulator.injectFault()
            simulator.scheduleNextFault()
        }
    }

    private func randomNode() -> Int { Int.random(in: 0..<nodes.count, using: &random) }

    private func randomPair() -> (Int, Int) {
        let a = randomNode()
        var b = randomNode()
        while b == a { b = randomNode() }
        return (a, b)
    }

    private func setLinks(_ from: Int, _ to: Int, only link: Int? = nil, _ change: (inout SimLink) -> Void) {
        for index in 0..<linkCount where link == nil || link == index {
            change(&links[from][to][index])
        }
    }

    private func restoreLater(_ length: Duration, _ label: String, _ body: @escaping (Simulator) -> Void) {
        schedule(at: now + length, "heal: \(label)", body)
    }

    private func injectFault() {
        let kind = Int.random(in: 0..<10, using: &random)
        let length = random.duration(.milliseconds(100) ... .seconds(3))
        switch kind {
        case 0:
            let isolated = randomNode()
            note("fault: isolate \(nodes[isolated].name) for \(length.compactDescription)")
            for other in nodes.indices where other != isolated {
                setLinks(isolated, other) { $0.up = false }
                setLinks(other, isolated) { $0.up = false }
            }
            restoreLater(length, "isolation of \(nodes[isolated].name)") { simulator in
                for other in simulator.nodes.indices where other != isolated {
                    simulator.setLinks(isolated, other) { $0.up = true }
                    simulator.setLinks(other, isolated) { $0.up = true }
                }
            }
        case 1:
            let (a, b) = randomPair()
            note("fault: one-way partition \(nodes[a].name) → \(nodes[b].name) for \(length.compactDescription)")
            setLinks(a, b) { $0.up = false }
            restoreLater(length, "one-way partition") { $0.setLinks(a, b) { $0.up = true } }
        case 2:
            let (a, b) = randomPair()
            let link = Int.random(in: 0..<linkCount, using: &random)
            note("fault: link \(link) between \(nodes[a].name) and \(nodes[b].name) down")
            setLinks(a, b, only: link) { $0.up = false }
            setLinks(b, a, only: link) { $0.up = false }
            restoreLater(length * 2, "link \(link)") { simulator in
                simulator.setLinks(a, b, only: link) { $0.up = true }
                simulator.setLinks(b, a, only: link) { $0.up = true }
            }
        case 3:
            let (a, b) = randomPair()
            let loss = Double.random(in: 0.1...0.6, using: &random)
            let link: Int? = random.chance(0.5) ? Int.random(in: 0..<linkCount, using: &random) : nil
            note(
                "fault: \(Int(loss * 100))% loss between \(nodes[a].name) and \(nodes[b].name), link \(link.map(String.init) ?? "all")"
            )
            setLinks(a, b, only: link) { $0.loss = loss }
            setLinks(b, a, only: link) { $0.loss = loss }
            restoreLater(length * 2, "loss") { simulator in
                simulator.setLinks(a, b, only: link) { $0.loss = 0 }
                simulator.setLinks(b, a, only: link) { $0.loss = 0 }
            }
        case 4:
            let victim = randomNode()
            let keepVIP = random.chance(0.5)
            note(
                "fault: crash \(nodes[victim].name) (\(keepVIP ? "agent killed, VIP left on the interface" : "node down"))"
            )
            crash(victim, keepVIP: keepVIP)
            // In a mixed-version world a restart may be an upgrade or a rollback.
            let switchRelease = options.mixedReleases && releaseRandom.chance(0.3)
            restoreLater(length, "restart \(nodes[victim].name)") { simulator in
                // Only a node that is down restarts on another release (another fault may have started it).
                if switchRelease && !simulator.nodes[victim].isRunning {
                    simulator.nodes[victim].release = simulator.nodes[victim].release.other
                    simulator.report.releaseSwitches += 1
                    simulator.note("\(simulator.nodes[victim].name) restarts on \(simulator.nodes[victim].release)")
                }
                simulator.start(victim)
            }
        case 5:
            let victim = randomNode()
            let stallLength = random.duration(.milliseconds(50) ... .seconds(2))
            note("fault: stall \(nodes[victim].name) for \(stallLength.compactDescription)")
            stall(victim, for: stallLength)
        case 6:
            let victim = randomNode()
            note("fault: engine of \(nodes[victim].name) not ready for \(length.compactDescription)")
            setEngine(victim, ready: false)
            restoreLater(length, "engine of \(nodes[victim].name)") { $0.setEngine(victim, ready: true) }
        case 7 where witnessConfigured:
            let victim = randomNode()
            note("fault: witness unreachable from \(nodes[victim].name) for \(length.compactDescription)")
            setWitness(victim, reachable: false)
            restoreLater(length, "witness of \(nodes[victim].name)") { $0.setWitness(victim, reachable: true) }
        case 8, 7:
            injectCommand()
        default:
            let victim = randomNode()
            guard nodes[victim].isRunning, nodes[victim].shuttingDownSince == nil else { return }
            note("fault: SIGTERM to \(nodes[victim].name)")
            nodes[victim].shuttingDownSince = now
            let incarnation = nodes[victim].incarnation
            deliverLocal(victim, .shutdown)
            schedule(at: now + .seconds(5), "shutdown watchdog") { simulator in
                let node = simulator.nodes[victim]
                if node.incarnation == incarnation && node.isRunning && node.shuttingDownSince != nil {
                    simulator.violate(.liveness, "\(node.name) did not finish a clean shutdown within 5s")
                }
            }
        }
    }

    func setEngine(_ index: Int, ready: Bool) {
        nodes[index].engineReady = ready
        deliverLocal(index, .engine(ready: ready))
    }

    func setWitness(_ index: Int, reachable: Bool) {
        nodes[index].witnessReachable = reachable
        deliverLocal(index, .witness(reachable: reachable))
    }

    private func injectCommand() {
        let target = randomNode()
        guard nodes[target].isRunning else { return }
        let commands: [AdminCommand] = [.failover, .promote, .demote, .maintenance(true)]
        let command = commands[Int.random(in: 0..<commands.count, using: &random)]
        note("command: \(command) on \(nodes[target].name)")
        deliverLocal(target, .command(UInt64(step), command))
        if command == .maintenance(true) {
            let incarnation = nodes[target].incarnation
            let length = random.duration(.milliseconds(500) ... .seconds(4))
            schedule(at: now + length, "maintenance off on \(nodes[target].name)") { simulator in
                guard simulator.nodes[target].incarnation == incarnation else { return }
                simulator.deliverLocal(target, .command(UInt64(simulator.step), .maintenance(false)))
            }
        }
    }
}
