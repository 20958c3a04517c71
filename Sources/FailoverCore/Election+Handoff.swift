import FailoverWire

extension Election {
    /// A new handoff id, unique to this run.
    mutating func nextHandoffID() -> UInt64 {
        handoffSerial += 1
        return (bootID << 24) ^ handoffSerial
    }

    /// Primary: offers the role to `target` (planned handoff, step 1).
    mutating func offer(
        to target: NodeName,
        purpose: HandoffPurpose,
        id existing: UInt64? = nil,
        now: Instant,
        actions: inout [ElectionAction]
    ) {
        let id = existing ?? nextHandoffID()
        handoff = .offering(
            id: id,
            target: target,
            purpose: purpose,
            startedAt: now,
            deadline: now + configuration.handoffTimeout
        )
        broadcast(.handoffRequest(HandoffRequest(handoffID: id, intent: .offer, target: target)), actions: &actions)
    }

    /// Backup: asks `primary` to hand the role over to this node.
    mutating func ask(_ primary: NodeName, command: CommandID?, now: Instant, actions: inout [ElectionAction]) {
        let id = nextHandoffID()
        handoff = .asking(
            id: id,
            primary: primary,
            command: command,
            startedAt: now,
            deadline: now + configuration.handoffTimeout
        )
        let request = HandoffRequest(handoffID: id, intent: .ask, target: configuration.name)
        broadcast(.handoffRequest(request), actions: &actions)
    }

    /// Whether an alive peer other than `except` says it holds or takes the VIP.
    func anotherHolder(except: NodeName, at now: Instant) -> Bool {
        peers.values.contains { $0.name != except && $0.claimsVIP && isAlive($0, at: now) }
    }

    /// Why this node would refuse to take over from `from` right now, if it would.
    func refusal(from: NodeName, at now: Instant) -> HandoffRejectReason? {
        if shutdown != nil { return .busy }
        if role == .initializing { return .starting }
        if maintenance { return .inMaintenance }
        if !engineReady { return .engineNotReady }
        if !witnessOK { return .witnessUnreachable }
        if role == .fault { return .inFault }
        if role != .backup { return .notBackup }
        if anotherHolder(except: from, at: now) { return .otherPrimary }
        return nil
    }

    mutating func receiveHandoffRequest(
        _ request: HandoffRequest,
        from peer: PeerState,
        now: Instant,
        actions: inout [ElectionAction]
    ) {
        switch request.intent {
        case .offer:
            guard request.target == configuration.name else { return }
            var command: CommandID?
            var startedAt = now
            switch handoff {
            case .accepting(let id, _, _, _, _) where id == request.handoffID:
                broadcast(.handoffAccept(handoffID: id), actions: &actions)
                return
            case .asking(let id, let primary, let asked, let askedAt, _) where primary == peer.name:
                _ = id
                command = asked
                startedAt = askedAt
            case nil:
                break
            default:
                broadcast(.handoffReject(handoffID: request.handoffID, reason: .busy), actions: &actions)
                return
            }
            if let reason = refusal(from: peer.name, at: now) {
                handoff = nil
                if let command {
                    finish(command, false, "\(peer.name) offered the role, but \(reason)", startedAt, now, &actions)
                }
                broadcast(.handoffReject(handoffID: request.handoffID, reason: reason), actions: &actions)
                return
            }
            handoff = .accepting(
                id: request.handoffID,
                from: peer.name,
                command: command,
                startedAt: startedAt,
                deadline: now + configuration.handoffTimeout
            )
            broadcast(.handoffAccept(handoffID: request.handoffID), actions: &actions)
            heartbeatNow(now: now)
            if configuration.mutations.contains(.claimBeforeRelease) {
                handoff = nil
                claim(
                    reason: "planned handoff from \(peer.name)",
                    cause: .plannedHandoff(from: peer.name),
                    now: now,
                    actions: &actions
                )
            }
        case .ask:
            guard request.target == peer.name else { return }
            if case .offering(_, let target, _, _, _) = handoff, target == peer.name { return }
            guard role == .primary, shutdown == nil else {
                let reason: HandoffRejectReason = role == .primary ? .busy : .notPrimary
                broadcast(.handoffReject(handoffID: request.handoffID, reason: reason), actions: &actions)
                return
            }
            guard handoff == nil else {
                broadcast(.handoffReject(handoffID: request.handoffID, reason: .busy), actions: &actions)
                return
            }
            offer(to: peer.name, purpose: .peerAsked, id: request.handoffID, now: now, actions: &actions)
        }
    }

    mutating func receiveHandoffAccept(
        _ id: UInt64,
        from peer: PeerState,
        now: Instant,
        actions: inout [ElectionAction]
    ) {
        guard case .offering(let offered, let target, let purpose, let startedAt, _) = handoff,
            offered == id, target == peer.name
        else { return }
        handoff = .releasing(id: id, target: target, purpose: purpose, startedAt: startedAt)
        if vip.mayBeHeld {
            release(actions: &actions)
        } else {
            releaseCompleted(now: now, actions: &actions)
        }
    }

    mutating func receiveHandoffReject(
        _ id: UInt64,
        reason: HandoffRejectReason,
        from peer: PeerState,
        now: Instant,
        actions: inout [ElectionAction]
    ) {
        switch handoff {
        case .offering(let offered, let target, let purpose, let startedAt, _)
        where offered == id && target == peer.name:
            handoff = nil
            if let command = purpose.commandID {
                finish(
                    command,
                    false,
                    "\(peer.name) refused the role: \(reason); nothing changed",
                    startedAt,
                    now,
                    &actions
                )
            }
        case .asking(let asked, let primary, let command, let startedAt, _) where asked == id && primary == peer.name:
            handoff = nil
            if let command {
                finish(command, false, "\(peer.name) refused to hand over: \(reason)", startedAt, now, &actions)
            }
        default:
            break
        }
    }

    mutating func receiveReleased(_ id: UInt64, from peer: PeerState, now: Instant, actions: inout [ElectionAction]) {
        guard case .accepting(let accepted, let from, let command, let startedAt, _) = handoff,
            accepted == id, from == peer.name
        else { return }
        // A `released` read from the backlog of a stall may be stale: the old primary may have taken the role
        // back while this node was silent. It repeats `released` while it still waits, so wait for a fresh one.
        if let stall, now < stall.guardUntil { return }
        // Newer state from the old primary (reordered datagrams) says it holds the VIP: not released after all.
        guard let current = peers[peer.name], current.latest.role != .primary, !current.latest.flags.contains(.holdsVIP)
        else { return }
        if anotherHolder(except: peer.name, at: now) {
            abortHandoff(because: "another node holds the VIP", now: now, actions: &actions)
            return
        }
        handoff = nil
        claim(
            reason: "planned handoff from \(peer.name)",
            cause: .plannedHandoff(from: peer.name),
            now: now,
            actions: &actions
        )
        if let command { claimCommand = (command, startedAt) }
    }

    /// The old primary's VIP is gone: finish its side of the handoff and tell the target to claim.
    mutating func releaseCompleted(now: Instant, actions: inout [ElectionAction]) {
        guard case .releasing(let id, let target, let purpose, let startedAt) = handoff else { return }
        handoff = nil
        yield = Yield(
            id: id,
            target: target,
            command: purpose.commandID,
            startedAt: startedAt,
            deadline: now + configuration.handoffTimeout
        )
        let why: String
        switch purpose {
        case .command:
            preemptSuppressed = true
            why = "handed over to \(target) (operator)"
        case .maintenance:
            preemptSuppressed = true
            maintenance = true
            why = "handed over to \(target) for maintenance (operator)"
        case .shutdown:
            why = "handed over to \(target): shutting down"
        case .peerAsked:
            why = "handed over to \(target) at its request"
        case .unhealthy(let problem):
            why = "handed over to \(target): \(problem)"
        }
        let (resting, restingReason) = restingRole()
        transition(
            to: resting,
            reason: resting == .backup ? why : "\(why); \(restingReason)",
            now: now,
            actions: &actions
        )
        broadcast(.released(handoffID: id, target: target), actions: &actions)
    }

    mutating func releaseFailed(_ failure: String, now: Instant, actions: inout [ElectionAction]) {
        guard case .releasing(_, _, let purpose, let startedAt) = handoff else { return }
        handoff = nil
        if let command = purpose.commandID {
            finish(
                command,
                false,
                "could not release the VIP: \(failure); this node stays primary",
                startedAt,
                now,
                &actions
            )
        }
        actions.append(.announceVIP(reason: "release failed: the VIP stays here"))
    }

    /// Ends the handoff in progress, failing its command with `why`.
    mutating func abortHandoff(because why: String, now: Instant, actions: inout [ElectionAction]) {
        guard let current = handoff else { return }
        handoff = nil
        switch current {
        case .offering(_, _, let purpose, let startedAt, _), .releasing(_, _, let purpose, let startedAt):
            if let command = purpose.commandID {
                finish(command, false, "handoff aborted: \(why)", startedAt, now, &actions)
            }
        case .asking(_, _, let command?, let startedAt, _), .accepting(_, _, let command?, let startedAt, _):
            finish(command, false, "handoff aborted: \(why)", startedAt, now, &actions)
        default:
            break
        }
    }

    /// Abandons handoff steps that ran out of time, and completes the old primary's wait for the new one.
    mutating func expireHandoff(now: Instant, actions: inout [ElectionAction]) {
        switch handoff {
        case .offering(_, let target, _, _, let deadline) where now >= deadline:
            abortHandoff(
                because: "\(target) did not accept within \(configuration.handoffTimeout.compactDescription); "
                    + "nothing changed",
                now: now,
                actions: &actions
            )
        case .asking(_, let primary, _, _, let deadline) where now >= deadline:
            abortHandoff(
                because: "primary \(primary) did not answer within \(configuration.handoffTimeout.compactDescription)",
                now: now,
                actions: &actions
            )
        case .accepting(_, let from, _, _, let deadline) where now >= deadline:
            abortHandoff(
                because: "\(from) did not release within \(configuration.handoffTimeout.compactDescription)",
                now: now,
                actions: &actions
            )
        default:
            break
        }
        guard let current = yield else { return }
        if let target = peers[current.target], isAlive(target, at: now), target.latest.role == .primary,
            target.latest.flags.contains(.holdsVIP)
        {
            yield = nil
            if let command = current.command {
                finish(
                    command,
                    true,
                    "\(current.target) is primary and holds the VIP",
                    current.startedAt,
                    now,
                    &actions,
                    movedVIP: true
                )
            }
        } else if now >= current.deadline {
            yield = nil
            if let command = current.command {
                finish(
                    command,
                    false,
                    "released the VIP, but \(current.target) did not confirm holding it within "
                        + "\(configuration.handoffTimeout.compactDescription); the election will place it",
                    current.startedAt,
                    now,
                    &actions
                )
            }
        }
    }

    /// Repeats, with every heartbeat, the message the handoff in progress waits on.
    func repeatHandoffMessages(actions: inout [ElectionAction]) {
        switch handoff {
        case .offering(let id, let target, _, _, _):
            broadcast(.handoffRequest(HandoffRequest(handoffID: id, intent: .offer, target: target)), actions: &actions)
        case .asking(let id, _, _, _, _):
            let request = HandoffRequest(handoffID: id, intent: .ask, target: configuration.name)
            broadcast(.handoffRequest(request), actions: &actions)
        default:
            break
        }
        if let yield {
            broadcast(.released(handoffID: yield.id, target: yield.target), actions: &actions)
        }
    }

    /// Reports the end of an operator command.
    func finish(
        _ id: CommandID,
        _ succeeded: Bool,
        _ text: String,
        _ startedAt: Instant,
        _ now: Instant,
        _ actions: inout [ElectionAction],
        movedVIP: Bool = false
    ) {
        actions.append(
            .commandFinished(
                id,
                CommandOutcome(succeeded: succeeded, message: text, elapsed: now - startedAt, movedVIP: movedVIP)
            )
        )
    }
}
