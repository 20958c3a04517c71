import FailoverWire

extension Election {
    mutating func handle(_ command: AdminCommand, id: CommandID, now: Instant, actions: inout [ElectionAction]) {
        if shutdown != nil {
            finish(id, false, "the agent is shutting down", now, now, &actions)
            return
        }
        switch command {
        case .failover:
            switch role {
            case .primary: handOffByCommand(id, purpose: .command(id), now: now, actions: &actions)
            case .backup: promote(id, now: now, actions: &actions)
            default:
                finish(
                    id,
                    false,
                    "this node is \(role) (\(reason)): a failover needs a primary and a healthy backup",
                    now,
                    now,
                    &actions
                )
            }
        case .demote:
            if role == .primary {
                handOffByCommand(id, purpose: .command(id), now: now, actions: &actions)
            } else {
                finish(id, true, "already \(role); nothing to do", now, now, &actions)
            }
        case .promote:
            promote(id, now: now, actions: &actions)
        case .maintenance(true):
            if maintenance {
                finish(id, true, "already in maintenance", now, now, &actions)
            } else if role == .primary {
                handOffByCommand(id, purpose: .maintenance(id), now: now, actions: &actions)
            } else {
                abortHandoff(because: "maintenance mode", now: now, actions: &actions)
                maintenance = true
                transition(to: .maintenance, reason: "maintenance mode (operator)", now: now, actions: &actions)
                finish(id, true, "maintenance on: this node will not become primary", now, now, &actions)
            }
        case .maintenance(false):
            if !maintenance {
                finish(id, true, "not in maintenance; nothing to do", now, now, &actions)
            } else {
                maintenance = false
                let (resting, restingReason) = restingRole()
                let why = restingReason.isEmpty ? "maintenance off (operator)" : restingReason
                transition(to: resting, reason: why, now: now, actions: &actions)
                finish(id, true, "maintenance off: this node is \(resting)", now, now, &actions)
            }
        }
    }

    private mutating func handOffByCommand(
        _ id: CommandID,
        purpose: HandoffPurpose,
        now: Instant,
        actions: inout [ElectionAction]
    ) {
        guard handoff == nil else {
            finish(id, false, "a handoff is already in progress; try again in a moment", now, now, &actions)
            return
        }
        guard let peer = bestHealthyPeer(at: now) else {
            finish(id, false, noHealthyPeerText(now: now) + "; the VIP stays here", now, now, &actions)
            return
        }
        offer(to: peer.name, purpose: purpose, now: now, actions: &actions)
    }

    private mutating func promote(_ id: CommandID, now: Instant, actions: inout [ElectionAction]) {
        if role == .primary {
            finish(id, true, "already primary", now, now, &actions)
            return
        }
        guard role == .backup, locallyEligible else {
            finish(id, false, "cannot take over: this node is \(role) (\(reason))", now, now, &actions)
            return
        }
        guard handoff == nil else {
            finish(id, false, "a handoff is already in progress; try again in a moment", now, now, &actions)
            return
        }
        preemptSuppressed = false
        if let primary = alivePeers(at: now).first(where: \.claimsVIP) {
            ask(primary.name, command: id, now: now, actions: &actions)
        } else {
            claim(reason: "promoted by operator; no primary alive", cause: .promoted, now: now, actions: &actions)
            claimCommand = (id, now)
        }
    }

    /// One line that says why no peer can take over.
    func noHealthyPeerText(now: Instant) -> String {
        let alive = alivePeers(at: now)
        guard !alive.isEmpty else {
            if peers.isEmpty { return "peer not reachable: no heartbeat received on any link since start" }
            return "peer not reachable: no heartbeat on any link for \(configuration.deadInterval.compactDescription)"
        }
        let states = alive.map { peer in
            var problems: [String] = []
            if peer.latest.role != .backup { problems.append("is \(peer.latest.role)") }
            if !peer.latest.flags.contains(.engineReady) { problems.append("engine not ready") }
            if !peer.latest.flags.contains(.witnessOK) { problems.append("witness unreachable") }
            if peer.latest.flags.contains(.maintenance) { problems.append("in maintenance") }
            return "\(peer.name) \(problems.joined(separator: ", "))"
        }
        return "no healthy peer to take over: " + states.joined(separator: "; ")
    }

    mutating func beginShutdown(now: Instant, actions: inout [ElectionAction]) {
        guard shutdown == nil else { return }
        shutdown = (startedAt: now, deadline: now + configuration.handoffTimeout * 2, complete: false)
        switch handoff {
        case .asking, .accepting:
            abortHandoff(because: "the agent is shutting down", now: now, actions: &actions)
        default:
            break
        }
        if role == .primary, handoff == nil, let peer = bestHealthyPeer(at: now) {
            offer(to: peer.name, purpose: .shutdown, now: now, actions: &actions)
        }
    }

    /// Moves a shutdown along: hand over (or give up after the deadline), release, say goodbye.
    mutating func progressShutdown(now: Instant, actions: inout [ElectionAction]) {
        guard let current = shutdown, !current.complete else { return }
        if role == .primary {
            if case .releasing = handoff { return }
            if case .offering = handoff, now < current.deadline { return }
            abortHandoff(because: "the agent is shutting down", now: now, actions: &actions)
            transition(to: .backup, reason: "shutting down: released the VIP", now: now, actions: &actions)
            release(actions: &actions)
            return
        }
        if vip == .held || vip == .claiming { release(actions: &actions) }
        guard vip == .released else { return }
        broadcast(.leaving, actions: &actions)
        shutdown?.complete = true
        actions.append(.shutdownComplete)
    }
}
