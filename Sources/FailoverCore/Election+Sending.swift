import FailoverWire

extension Election {
    /// The flags this node announces now.
    var currentFlags: MessageFlags {
        var flags: MessageFlags = []
        if maintenance { flags.insert(.maintenance) }
        if engineReady { flags.insert(.engineReady) }
        if vip.mayBeHeld { flags.insert(.holdsVIP) }
        if witnessOK { flags.insert(.witnessOK) }
        if case .accepting = handoff { flags.insert(.takingOver) }
        if yield != nil { flags.insert(.handingOver) }
        return flags
    }

    /// Whether the witness condition is met (always, when no witness is configured).
    var witnessOK: Bool { !configuration.witnessConfigured || witnessReachable == true }

    /// A message from this node with its current state.
    func message(_ body: MessageBody) -> Message {
        Message(
            sender: configuration.name,
            term: term,
            role: role,
            priority: configuration.priority,
            flags: currentFlags,
            config: configStamp,
            body: body
        )
    }

    /// Sends `body` on every link.
    func broadcast(_ body: MessageBody, actions: inout [ElectionAction]) {
        let message = message(body)
        for link in 0..<configuration.linkCount {
            actions.append(.send(message, link: link))
        }
    }

    /// Sends a heartbeat on every link, and repeats whatever the handoff in progress is waiting on.
    mutating func sendHeartbeats(now: Instant, actions: inout [ElectionAction]) {
        nextHeartbeatAt = now + configuration.heartbeatInterval
        if shutdown?.complete == true { return }
        let sentAt = UInt64(bitPattern: now.nanoseconds)
        let latestEcho = peers.values.max { $0.lastHeard < $1.lastHeard }
        for link in 0..<configuration.linkCount {
            var timing = HeartbeatTiming(sentAt: sentAt)
            if let peer = latestEcho, link < peer.links.count, let received = peer.links[link].echoReceivedAt {
                timing.echo = peer.links[link].echo
                timing.echoHeld = UInt64(max(0, (now - received).nanoseconds))
            }
            actions.append(.send(message(.heartbeat(timing)), link: link))
        }
        repeatHandoffMessages(actions: &actions)
    }

    /// Sends a heartbeat at once (after a role change) instead of waiting for the next interval.
    mutating func heartbeatNow(now: Instant) {
        nextHeartbeatAt = now
    }
}
