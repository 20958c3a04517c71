import FailoverWire

extension Election {
    /// Election rank: higher priority wins, then the lower name.
    static func outranks(_ a: (priority: UInt8, name: NodeName), _ b: (priority: UInt8, name: NodeName)) -> Bool {
        a.priority != b.priority ? a.priority > b.priority : a.name < b.name
    }

    /// Conflict rank between two primaries: higher term wins, then higher priority, then the lower name.
    static func winsConflict(
        _ a: (term: UInt64, priority: UInt8, name: NodeName),
        _ b: (term: UInt64, priority: UInt8, name: NodeName)
    ) -> Bool {
        if a.term != b.term { return a.term > b.term }
        return outranks((a.priority, a.name), (b.priority, b.name))
    }

    /// The healthy peer that should take over from this node, if any.
    func bestHealthyPeer(at now: Instant) -> PeerState? {
        alivePeers(at: now).filter(\.isHealthyBackup).min { a, b in
            Election.outranks((a.latest.priority, a.name), (b.latest.priority, b.name))
        }
    }

    /// Decides the role after every input.
    mutating func evaluate(now: Instant, actions: inout [ElectionAction]) {
        if let backoff = claimBackoff, now >= backoff.until { claimBackoff = nil }
        if let retry = releaseRetryAt, now >= retry, vip == .held, role != .primary {
            release(actions: &actions)
        }
        expireHandoff(now: now, actions: &actions)
        if shutdown != nil {
            progressShutdown(now: now, actions: &actions)
            return
        }
        switch role {
        case .initializing:
            let listened = now - startedAt >= configuration.deadInterval
            guard listened || configuration.mutations.contains(.skipStartupWait) else { return }
            settle(now: now, why: "startup: listened for \(configuration.deadInterval.compactDescription)", &actions)
            if role == .backup { evaluateBackup(now: now, actions: &actions) }
        case .primary:
            evaluatePrimary(now: now, actions: &actions)
        case .backup, .fault, .maintenance:
            settle(now: now, why: "", &actions)
            if role == .backup { evaluateBackup(now: now, actions: &actions) }
        }
    }

    /// Puts a non-primary node in the resting role its own health calls for.
    private mutating func settle(now: Instant, why: String, _ actions: inout [ElectionAction]) {
        let (resting, restingReason) = restingRole()
        if resting == .backup {
            if role != .backup {
                let text = why.isEmpty ? "healthy again" : why
                transition(to: .backup, reason: text, now: now, actions: &actions)
            }
            if healthyBackupSince == nil { healthyBackupSince = now }
        } else {
            healthyBackupSince = nil
            transition(to: resting, reason: restingReason, now: now, actions: &actions)
        }
    }

    private mutating func evaluateBackup(now: Instant, actions: inout [ElectionAction]) {
        let alive = alivePeers(at: now)
        if case .accepting(_, let from, _, _, _) = handoff {
            if alive.contains(where: { $0.name == from }) { return }
            abortHandoff(because: "\(from) went silent during the handoff", now: now, actions: &actions)
        }
        if let yield {
            let target = alive.first { $0.name == yield.target }
            if let target, !(target.latest.role == .primary && target.latest.flags.contains(.holdsVIP)) {
                return
            }
        }
        // Right after a stall of this process, what we know of the peers is stale: decide nothing until
        // fresh datagrams had time to arrive.
        if let stall, now < stall.guardUntil { return }
        if let expected = expectedTakeover {
            if now >= expected.until || peers[expected.target]?.latest.role == .primary {
                expectedTakeover = nil
            } else if alive.contains(where: { $0.name == expected.target }) {
                return
            }
        }
        let holders = alive.filter(\.claimsVIP)
        if let primary = holders.first {
            considerPreempting(primary, now: now, actions: &actions)
            return
        }
        let me = (priority: configuration.priority, name: configuration.name)
        let rivals = alive.filter { peer in
            (peer.latest.role == .backup || peer.latest.role == .initializing)
                && peer.latest.flags.contains(.engineReady) && peer.latest.flags.contains(.witnessOK)
                && !peer.latest.flags.contains(.maintenance)
        }
        guard rivals.allSatisfy({ Election.outranks(me, ($0.latest.priority, $0.name)) }) else { return }
        // Back from losing the witness (maybe cut off from everything): listen one dead interval first.
        if let listenUntil, now < listenUntil { return }
        if let starting = startingSuperior(alive, now: now) {
            reason = "waiting for \(starting.name) (priority \(starting.latest.priority)) to start its engine"
            return
        }
        claim(reason: electionReason(now: now), cause: .takeover, now: now, actions: &actions)
    }

    /// A peer that outranks this node, came alive less than `peerStartWait` ago and whose engine is not ready
    /// yet: a node starting together with this one. Bounded by the wait, so a peer whose engine never comes up
    /// delays nothing for longer; a peer heard for longer (whose engine failed later) is never waited for.
    private func startingSuperior(_ alive: [PeerState], now: Instant) -> PeerState? {
        guard configuration.peerStartWait > .zero else { return nil }
        let me = (priority: configuration.priority, name: configuration.name)
        return alive.first { peer in
            Election.outranks((peer.latest.priority, peer.name), me)
                && (peer.latest.role == .fault || peer.latest.role == .initializing)
                && !peer.latest.flags.contains(.engineReady) && !peer.latest.flags.contains(.maintenance)
                && now - peer.aliveSince < configuration.peerStartWait
        }
    }

    /// Why a backup takes the role by election, in words.
    private func electionReason(now: Instant) -> String {
        let lost = peers.values.filter { !isAlive($0, at: now) && $0.claimsVIP }.sorted { $0.name < $1.name }
        if let peer = lost.first {
            if peer.leftAt != nil { return "primary \(peer.name) left" }
            return "primary \(peer.name) silent on all links for \((now - peer.lastHeard).compactDescription)"
        }
        if peers.isEmpty { return "no peer heard" }
        return "no primary; highest-ranked eligible node"
    }

    private mutating func considerPreempting(_ primary: PeerState, now: Instant, actions: inout [ElectionAction]) {
        guard configuration.preempt, !preemptSuppressed, handoff == nil, locallyEligible,
            primary.latest.role == .primary, primary.latest.flags.contains(.holdsVIP),
            configuration.priority > primary.latest.priority,
            let since = healthyBackupSince, now - since >= configuration.preemptDelay
        else { return }
        ask(primary.name, command: nil, now: now, actions: &actions)
    }

    private mutating func evaluatePrimary(now: Instant, actions: inout [ElectionAction]) {
        let alive = alivePeers(at: now)
        let me = (term: term, priority: configuration.priority, name: configuration.name)
        for peer in alive where peer.latest.role == .primary {
            let them = (term: peer.latest.term, priority: peer.latest.priority, name: peer.name)
            if Election.winsConflict(them, me) {
                stepDown(
                    reason: "two primaries: \(peer.name) wins (term \(them.term) vs \(me.term), "
                        + "priority \(them.priority) vs \(me.priority))",
                    now: now,
                    actions: &actions
                )
                return
            }
            let last = lastConflictAnnounce[peer.name]
            if vip == .held, last.map({ now - $0 >= configuration.deadInterval }) ?? true {
                lastConflictAnnounce[peer.name] = now
                actions.append(.announceVIP(reason: "two primaries: this node wins over \(peer.name)"))
            }
        }
        if configuration.witnessConfigured && witnessReachable == false && alive.isEmpty {
            stepDown(reason: "isolated: no peer on any link and no witness answers", now: now, actions: &actions)
            return
        }
        guard handoff == nil else { return }
        if configuration.witnessConfigured && witnessReachable == false {
            if let peer = bestHealthyPeer(at: now) {
                offer(to: peer.name, purpose: .unhealthy("witness unreachable"), now: now, actions: &actions)
            } else {
                transition(
                    to: .primary,
                    reason: "degraded: witness unreachable, no healthy peer",
                    degraded: true,
                    now: now,
                    actions: &actions
                )
            }
            return
        }
        if !engineReady, let since = engineUnreadySince {
            if now - since >= configuration.engineGracePeriod, let peer = bestHealthyPeer(at: now) {
                let why = "engine not ready for \((now - since).compactDescription)"
                offer(to: peer.name, purpose: .unhealthy(why), now: now, actions: &actions)
            } else if now - since >= configuration.engineGracePeriod {
                transition(
                    to: .primary,
                    reason: "degraded: engine not ready, no healthy peer",
                    degraded: true,
                    now: now,
                    actions: &actions
                )
            }
            return
        }
        if degraded {
            transition(
                to: .primary,
                reason: "recovered: engine ready and witness reachable",
                now: now,
                actions: &actions
            )
        }
    }
}
