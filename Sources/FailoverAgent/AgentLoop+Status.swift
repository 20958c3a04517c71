import ControlProtocol
import FailoverConfig
import FailoverCore
import FailoverWire

extension AgentLoop {
    /// One line for STATUS= and the top of `failoverctl status`, e.g.
    /// `primary since 12:03:04 · peer lb2 alive on 2/2 links · vip 192.0.2.100 held · engine ready`.
    func statusLine(now: Instant) -> String {
        var parts = ["\(election.role) since \(clock.clockText(of: election.roleSince))"]
        if election.peers.isEmpty {
            parts.append("no peer heard yet")
        }
        for peer in election.peers.values.sorted(by: { $0.name < $1.name }) {
            let alive = (0..<configuration.cluster.links.count).filter { election.isLinkAlive($0, of: peer, at: now) }
                .count
            if negotiation.isIncompatible(peer.name) {
                parts.append("peer \(peer.name) INCOMPATIBLE (protocol \(negotiation.peers[peer.name]!.lastVersion))")
            } else if election.isAlive(peer, at: now) {
                parts.append(
                    "peer \(peer.name) \(peer.latest.role) on \(alive)/\(configuration.cluster.links.count) links"
                )
            } else {
                parts.append("peer \(peer.name) silent for \((now - peer.lastHeard).compactDescription)")
            }
        }
        let addresses = configuration.vips.map { "\($0.address)" }.joined(separator: ",")
        parts.append("vip \(addresses) \(election.vip == .held ? "held" : election.vip.rawValue)")
        parts.append("engine \(engineReport.state.rawValue)")
        return parts.joined(separator: " · ")
    }

    func snapshot(now: Instant) -> StatusSnapshot {
        let peers = election.peers.values.sorted { $0.name < $1.name }.map { peer in
            let links = configuration.cluster.links.enumerated().map { index, link in
                StatusSnapshot.Link(
                    index: index,
                    local: link.local.description,
                    peer: link.peer.description,
                    alive: election.isLinkAlive(index, of: peer, at: now),
                    lastHeardMilliseconds: peer.links[index].lastHeard.map { (now - $0).milliseconds },
                    roundTripMilliseconds: peer.links[index].roundTrip?.milliseconds
                )
            }
            let spoken = negotiation.peers[peer.name]
            return StatusSnapshot.Peer(
                name: peer.name.value,
                alive: election.isAlive(peer, at: now),
                role: peer.latest.role.description,
                term: peer.latest.term,
                priority: Int(peer.latest.priority),
                engineReady: peer.latest.flags.contains(.engineReady),
                witnessOK: peer.latest.flags.contains(.witnessOK),
                maintenance: peer.latest.flags.contains(.maintenance),
                holdsVIP: peer.latest.flags.contains(.holdsVIP),
                configGeneration: peer.latest.config.generation,
                configHash: peer.latest.config.shortHash,
                links: links,
                release: spoken?.product,
                protocolVersions: spoken.map { ProtocolNegotiation.text($0.versions) },
                protocolSpoken: spoken.map { Int(negotiation.common(with: $0) ?? 0) }
            )
        }
        var holder: String?
        if election.vip == .held {
            holder = configuration.node.name.value
        } else if let peer = election.alivePeers(at: now).first(where: { $0.latest.flags.contains(.holdsVIP) }) {
            holder = peer.name.value
        }
        let witness: String? =
            configuration.witness == nil
            ? nil : election.witnessReachable.map { $0 ? "reachable" : "unreachable" } ?? "unknown"
        return StatusSnapshot(
            node: configuration.node.name.value,
            role: election.role.description,
            roleSince: clock.wallText(of: election.roleSince),
            reason: election.reason,
            term: election.term,
            priority: Int(configuration.node.priority),
            maintenance: election.maintenance,
            vipState: election.vip.rawValue,
            vips: configuration.vips.map { "\($0.address)/\($0.prefixLength) dev \($0.interface)" },
            vipHolder: holder,
            engine: engineReport.summary
                + (engineConfigWarnings == 0
                    ? ""
                    : " · config: \(engineConfigWarnings) warning\(engineConfigWarnings == 1 ? "" : "s") (see the log)"),
            witness: witness,
            configGeneration: election.configStamp.generation,
            configHash: election.configStamp.shortHash,
            keyFingerprint: sealer.keyring.signing.fingerprint,
            peers: peers,
            rejected: rejectedAtSockets(),
            configNote: configNote?.text,
            release: negotiation.local.product,
            protocolVersions: ProtocolNegotiation.text(negotiation.local.versions),
            engineState: engineReport.state.rawValue,
            enginePid: engineReport.pid.map(Int.init),
            engineRestarts: engineReport.restarts
        )
    }

    /// The loop's rejection counts with those of the link sockets (wrong source, backlog full).
    func rejectedAtSockets() -> [String: Int] {
        var all = rejected
        let backlog = intakes.reduce(0) { $0 + $1.budget.dropped }
        let unexpected = intakes.reduce(0) { $0 + $1.unexpectedSource }
        if backlog > 0 { all["dropped_backlog", default: 0] += backlog }
        if unexpected > 0 { all["unexpected_source", default: 0] += unexpected }
        return all
    }
}
