import FailoverWire

extension Election {
    /// Whether `peer` counts as alive at `now`: a valid datagram on any link within the dead interval.
    ///
    /// Right after a stall of this process, a peer that was alive when the stall began still counts as
    /// alive for one heartbeat interval, so the gap in our own input is never mistaken for the peer's death.
    public func isAlive(_ peer: PeerState, at now: Instant) -> Bool {
        if peer.leftAt != nil { return false }
        if now - peer.lastHeard < configuration.deadInterval { return true }
        if let stall, now < stall.guardUntil, stall.stalledFrom - peer.lastHeard < configuration.deadInterval {
            return true
        }
        return false
    }

    /// Whether `link` to `peer` is alive at `now`.
    public func isLinkAlive(_ link: Int, of peer: PeerState, at now: Instant) -> Bool {
        guard link < peer.links.count, let heard = peer.links[link].lastHeard else { return false }
        return now - heard < configuration.deadInterval
    }

    /// The peers alive at `now`, in name order.
    public func alivePeers(at now: Instant) -> [PeerState] {
        peers.values.filter { isAlive($0, at: now) }.sorted { $0.name < $1.name }
    }

    mutating func receive(_ envelope: Envelope, link: Int, now: Instant, actions: inout [ElectionAction]) {
        guard link >= 0, link < configuration.linkCount else { return }
        let message = envelope.message
        guard message.sender != configuration.name else { return }
        var peer: PeerState
        var cameAlive: Bool
        if let known = peers[message.sender] {
            peer = known
            cameAlive = !isAlive(known, at: now)
            if envelope.bootID != known.bootID {
                peer = PeerState(envelope: envelope, link: link, linkCount: configuration.linkCount, now: now)
                cameAlive = true
            }
        } else {
            peer = PeerState(envelope: envelope, link: link, linkCount: configuration.linkCount, now: now)
            cameAlive = true
        }
        if cameAlive { peer.aliveSince = now }
        peer.lastHeard = now
        let isNewest = envelope.sequence >= peer.latestSequence
        if isNewest {
            peer.latest = message
            peer.latestSequence = envelope.sequence
            peer.leftAt = nil
        }
        peer.links[link].lastHeard = now
        if case .heartbeat(let timing) = message.body {
            peer.links[link].echo = timing.sentAt
            peer.links[link].echoReceivedAt = now
            if timing.echo != 0 {
                let roundTrip = now.nanoseconds - Int64(bitPattern: timing.echo) - Int64(bitPattern: timing.echoHeld)
                if roundTrip >= 0 { peer.links[link].roundTrip = .nanoseconds(roundTrip) }
            }
        }
        peers[message.sender] = peer
        highestSeenTerm = max(highestSeenTerm, message.term)
        if role != .primary && message.role == .primary && message.term > term {
            term = message.term
        }
        if cameAlive && role == .primary && vip == .held {
            actions.append(.announceVIP(reason: "peer \(peer.name) is back: refresh neighbours"))
        }
        switch message.body {
        case .heartbeat:
            break
        case .handoffRequest(let request):
            receiveHandoffRequest(request, from: peer, now: now, actions: &actions)
        case .handoffAccept(let id):
            receiveHandoffAccept(id, from: peer, now: now, actions: &actions)
        case .handoffReject(let id, let reason):
            receiveHandoffReject(id, reason: reason, from: peer, now: now, actions: &actions)
        case .released(let id, let target):
            if target == configuration.name {
                receiveReleased(id, from: peer, now: now, actions: &actions)
            } else {
                // A handoff between two other nodes: the target is taking over even if its own word of it
                // has not reached us yet.
                expectedTakeover = (target, now + configuration.handoffTimeout)
            }
        case .leaving:
            if isNewest { peers[message.sender]?.leftAt = now }
        }
    }
}
