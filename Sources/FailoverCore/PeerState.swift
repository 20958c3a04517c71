public import FailoverWire

/// What a node knows about one peer.
public struct PeerState: Hashable, Sendable {
    /// Per-link facts.
    public struct Link: Hashable, Sendable {
        /// When a valid datagram last arrived on this link.
        public var lastHeard: Instant?
        /// The latest measured round trip on this link.
        public var roundTrip: Duration?
        /// The peer's `sentAt` of its last heartbeat on this link, echoed back in ours.
        var echo: UInt64 = 0
        /// When that heartbeat arrived.
        var echoReceivedAt: Instant?
    }

    /// The peer's name.
    public let name: NodeName
    /// The peer's current boot id.
    public internal(set) var bootID: UInt64
    /// When a valid datagram last arrived on any link.
    public internal(set) var lastHeard: Instant
    /// When the peer last came alive (first heard, restarted, or back after silence).
    public internal(set) var aliveSince: Instant
    /// Per-link facts, indexed by link.
    public internal(set) var links: [Link]
    /// The latest message from the peer (its role, term, priority, flags, config).
    public internal(set) var latest: Message
    /// Set when the peer said it is leaving; cleared by its next message.
    public internal(set) var leftAt: Instant?
    /// The sequence number of the datagram ``latest`` came from: an older datagram arriving late (reordered
    /// across links, or queued during a stall) proves liveness but never overrides newer state.
    public internal(set) var latestSequence: UInt64

    init(envelope: Envelope, link: Int, linkCount: Int, now: Instant) {
        name = envelope.message.sender
        bootID = envelope.bootID
        lastHeard = now
        aliveSince = now
        links = Array(repeating: Link(), count: linkCount)
        latest = envelope.message
        latestSequence = envelope.sequence
    }

    /// Whether the peer says it holds, or is about to hold, the VIP, or that a handoff it started is under way.
    public var claimsVIP: Bool {
        latest.role == .primary || !latest.flags.isDisjoint(with: [.holdsVIP, .takingOver, .handingOver])
    }

    /// Whether the peer says it could take over right now.
    public var isHealthyBackup: Bool {
        latest.role == .backup && latest.flags.contains(.engineReady) && latest.flags.contains(.witnessOK)
            && !latest.flags.contains(.maintenance)
    }
}
