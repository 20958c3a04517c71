import FailoverWire

extension Election {
    /// Moves to `newRole` for `why`; records the change and tells the runtime. Same role and reason: nothing.
    /// `degraded`: a primary that keeps the role while unhealthy (see ``Election/degraded``).
    mutating func transition(
        to newRole: Role,
        reason why: String,
        degraded: Bool = false,
        now: Instant,
        actions: inout [ElectionAction]
    ) {
        guard newRole != role || why != reason else { return }
        self.degraded = degraded
        let record = Transition(at: now, from: role, to: newRole, term: term, reason: why)
        if newRole != role {
            roleSince = now
            history.append(record)
            if history.count > configuration.historyLimit {
                history.removeFirst(history.count - configuration.historyLimit)
            }
            heartbeatNow(now: now)
        }
        role = newRole
        reason = why
        actions.append(.statusChanged(record))
    }

    /// The role this node takes when it is not primary, and why.
    func restingRole() -> (Role, String) {
        if maintenance { return (.maintenance, "maintenance mode (operator)") }
        if shutdown != nil { return (.backup, "shutting down") }
        if linksBound == 0 { return (.fault, "no link is bound: the node cannot hear its peer (see the log)") }
        if !engineReady { return (.fault, "engine not ready") }
        if configuration.witnessConfigured && witnessReachable == nil {
            return (.fault, "waiting for the first witness probe")
        }
        if !witnessOK { return (.fault, "witness unreachable") }
        if let claimBackoff { return (.fault, claimBackoff.reason) }
        return (.backup, "")
    }

    /// Whether this node could become primary now, its own conditions only.
    var locallyEligible: Bool {
        !maintenance && shutdown == nil && engineReady && witnessOK && claimBackoff == nil && linksBound != 0
    }

    /// Takes the role: raises the term above every term seen and asks the driver to claim the VIP.
    mutating func claim(reason why: String, cause: ClaimCause, now: Instant, actions: inout [ElectionAction]) {
        lastClaimCause = cause
        term = max(term, highestSeenTerm).saturatingSuccessor
        healthyBackupSince = nil
        preemptSuppressed = false
        yield = nil
        transition(to: .primary, reason: why, now: now, actions: &actions)
        vipOperation += 1
        vip = .claiming
        actions.append(.claimVIP(operation: vipOperation))
    }

    /// Gives up the role: asks the driver to release the VIP and rests in backup, fault or maintenance.
    mutating func stepDown(reason why: String, now: Instant, actions: inout [ElectionAction]) {
        abortHandoff(because: why, now: now, actions: &actions)
        let (resting, restingReason) = restingRole()
        transition(
            to: resting,
            reason: restingReason.isEmpty ? why : "\(why); \(restingReason)",
            now: now,
            actions: &actions
        )
        release(actions: &actions)
    }

    /// Asks the driver to release the VIP if it may be held.
    mutating func release(actions: inout [ElectionAction]) {
        guard vip == .held || vip == .claiming else { return }
        vipOperation += 1
        vip = .releasing
        releaseRetryAt = nil
        actions.append(.releaseVIP(operation: vipOperation))
    }

    mutating func vipResult(_ result: VIPOperationResult, now: Instant, actions: inout [ElectionAction]) {
        guard result.operation == vipOperation else { return }
        switch (vip, result.failure) {
        case (.claiming, nil):
            vip = .held
            if let pending = claimCommand {
                claimCommand = nil
                finish(
                    pending.id,
                    true,
                    "this node is primary and holds the VIP",
                    pending.startedAt,
                    now,
                    &actions,
                    movedVIP: true
                )
            }
        case (.claiming, let failure?):
            vip = .released
            if let pending = claimCommand {
                claimCommand = nil
                finish(pending.id, false, "VIP claim failed: \(failure)", pending.startedAt, now, &actions)
            }
            claimBackoff = (
                now + configuration.claimRetryDelay,
                "VIP claim failed: \(failure); retrying in \(configuration.claimRetryDelay.compactDescription)"
            )
            if role == .primary {
                abortHandoff(because: "VIP claim failed", now: now, actions: &actions)
                transition(to: .fault, reason: claimBackoff!.reason, now: now, actions: &actions)
            }
        case (.releasing, nil):
            vip = .released
            releaseRetryAt = nil
            releaseCompleted(now: now, actions: &actions)
        case (.releasing, let failure?):
            vip = .held
            releaseRetryAt = now + configuration.heartbeatInterval * 4
            releaseFailed(failure, now: now, actions: &actions)
        default:
            break
        }
    }
}
