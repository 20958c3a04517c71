import FailoverCore
import FailoverWire

/// Config sync in the simulator (docs/sync.md): operators edit the config on random nodes at random times;
/// each node follows `SyncPolicy` after every tick, as the agent's loop does; a fetch takes a random transfer
/// time and succeeds only if the source is still a running primary reachable both ways. The served stamp
/// survives crashes (the stamp file). Its own random generator keeps the election's fault schedule of every
/// seed unchanged.
extension Simulator {
    func scheduleNextEdit() {
        let at = now + syncRandom.duration(.milliseconds(300) ... .seconds(6))
        schedule(at: at, "edit") { simulator in
            simulator.edit()
            simulator.scheduleNextEdit()
        }
    }

    private func randomHash() -> [UInt8] { (0..<32).map { _ in UInt8.random(in: 0...255, using: &syncRandom) } }

    func initialConfigs() {
        let shared = randomHash()
        for index in nodes.indices {
            nodes[index].config = ConfigStamp(generation: 1, hash: syncRandom.chance(0.7) ? shared : randomHash())
        }
    }

    /// An operator's edit on one node: the next generation on a primary, drift (nothing served) elsewhere.
    private func edit() {
        let index = Int.random(in: 0..<nodes.count, using: &syncRandom)
        guard nodes[index].isActive(at: now), let election = nodes[index].election else { return }
        checker.lastEdit = now
        guard election.role == .primary else {
            note("config edit on \(nodes[index].name) (\(election.role)): drift, not served")
            return
        }
        let peerStamp = election.alivePeers(at: now).map(\.latest.config).max { $0.generation < $1.generation }
        let generation = SyncPolicy.nextGeneration(local: nodes[index].config, peer: peerStamp)
        serve(index, ConfigStamp(generation: generation, hash: randomHash()), how: "edited")
    }

    private func serve(_ index: Int, _ stamp: ConfigStamp, how: String) {
        if stamp.generation < nodes[index].config.generation {
            violate(
                .configMonotonic,
                "\(nodes[index].name) went from generation \(nodes[index].config.generation) to \(stamp.generation) (\(how))"
            )
        }
        note("config: \(nodes[index].name) serves generation \(stamp.generation) \(stamp.shortHash) (\(how))")
        nodes[index].config = stamp
        deliverLocal(index, .localConfig(stamp))
    }

    /// After a tick of `index`: what the sync rules say, done. A primary weighs every live peer (with three
    /// nodes one backup may be in sync while the other is not); any other node looks at the primary.
    func syncStep(_ index: Int) {
        guard let election = nodes[index].election else { return }
        let alive = election.alivePeers(at: now)
        var consulted = alive
        if election.role != .primary {
            consulted = Array(alive.filter { $0.latest.role == .primary }.prefix(1))
            if consulted.isEmpty { consulted = Array(alive.prefix(1)) }
        }
        var restampTo: UInt64?
        for peer in consulted {
            switch SyncPolicy.decide(
                role: election.role,
                local: nodes[index].config,
                peer: (peer.name, peer.latest.role, peer.latest.config)
            ) {
            case .restamp(let generation):
                restampTo = max(restampTo ?? 0, generation)
            case .fetch(let from, _):
                startFetch(index, from: from)
            case .inSync, .wait:
                break
            }
        }
        if let restampTo, !options.brokenSync {
            serve(index, ConfigStamp(generation: restampTo, hash: nodes[index].config.hash), how: "re-stamped")
        }
    }

    private func startFetch(_ index: Int, from: NodeName) {
        guard !nodes[index].fetching, let source = nodes.firstIndex(where: { $0.name == from }) else { return }
        nodes[index].fetching = true
        let incarnation = nodes[index].incarnation
        let transfer = syncRandom.duration(.milliseconds(5) ... .milliseconds(80))
        schedule(at: now + transfer, "fetch by \(nodes[index].name) ends") { simulator in
            simulator.fetchDone(index, incarnation: incarnation, source: source)
        }
    }

    private func fetchDone(_ index: Int, incarnation: Int, source: Int) {
        guard nodes[index].incarnation == incarnation, nodes[index].isRunning else { return }
        nodes[index].fetching = false
        let reachable =
            links[index][source].contains { $0.up && $0.loss < 1 }
            && links[source][index].contains { $0.up && $0.loss < 1 }
        // The source's server offers only while it is primary; a lossy path may lose the connection.
        guard reachable, nodes[source].isActive(at: now), nodes[source].election?.role == .primary,
            !syncRandom.chance(0.1)
        else {
            note("config: fetch by \(nodes[index].name) from \(nodes[source].name) failed")
            return
        }
        let offer = nodes[source].config
        guard SyncPolicy.mayApply(fetched: offer, serving: nodes[index].config) else { return }
        serve(index, offer, how: "fetched from \(nodes[source].name)")
    }

    /// Convergence: a primary and another node, both running for a while, connected both ways, with stable
    /// roles and no edit for `settle`, serve the same stamp.
    func checkConfigConvergence() {
        let settle = Duration.seconds(3)
        guard let lastEdit = checker.lastEdit.map({ now - $0 }) ?? Optional(.seconds(1_000)), lastEdit >= settle
        else { return }
        for a in nodes.indices {
            guard let primary = nodes[a].election, primary.role == .primary, steady(a, settle) else { continue }
            for b in nodes.indices where b != a {
                let key = a * 8 + b
                guard let other = nodes[b].election, other.role != .primary, steady(b, settle),
                    let clean = checker.cleanSince[key], now - clean >= settle,
                    let back = checker.cleanSince[b * 8 + a], now - back >= settle
                else {
                    checker.openConvergence.remove(key)
                    continue
                }
                if nodes[a].config != nodes[b].config {
                    if !checker.openConvergence.contains(key) {
                        checker.openConvergence.insert(key)
                        violate(
                            .configConvergence,
                            "\(nodes[b].name) serves generation \(nodes[b].config.generation) "
                                + "\(nodes[b].config.shortHash), primary \(nodes[a].name) serves "
                                + "\(nodes[a].config.generation) \(nodes[a].config.shortHash), "
                                + "\(settle.compactDescription) after the last edit"
                        )
                    }
                } else {
                    checker.openConvergence.remove(key)
                }
            }
        }
    }

    private func steady(_ index: Int, _ settle: Duration) -> Bool {
        guard nodes[index].isActive(at: now), let election = nodes[index].election,
            let active = nodes[index].activeSince
        else { return false }
        return now - election.roleSince >= settle && now - active >= settle
    }
}
