/// What each peer speaks, learnt from its authentic datagrams, and the datagram versions to send it
/// (docs/protocol.md, "Versions"). Pure: fed envelopes and times, asked for versions.
///
/// - A peer heard within ``freshness`` whose boot advertised its versions gets the highest version both read,
///   alone.
/// - A peer heard within ``freshness`` whose boot sent version 1 only (0.3 and older advertise nothing) gets
///   version 1, and every ``probeInterval`` a copy in the newest version too: a newer peer whose own newest
///   copies were lost is then not taken for 0.3 for ever.
/// - A peer not heard yet, or not heard for longer than ``freshness`` (it may have restarted on another
///   release, and a link may be one-way), gets every message twice: in this build's newest version, whose
///   advertisement lets a newer peer answer in kind, then in its oldest, which every earlier release reads. A
///   restarting 0.3 node thus hears its peer within its startup listen, whatever it ran before.
public struct ProtocolNegotiation: Sendable {
    /// What one peer speaks, as its newest boot said.
    public struct Peer: Hashable, Sendable {
        /// The boot the knowledge comes from.
        public var bootID: UInt64
        /// The datagram versions it reads: advertised, or `1...1` for a sender of version 1 datagrams only.
        public var versions: ClosedRange<UInt8>
        /// Its optional features (none for a version 1 sender).
        public var capabilities: ProtocolCapabilities
        /// Its release; nil when it sent no advertisement (version 1).
        public var product: String?
        /// The version of its last datagram.
        public var lastVersion: UInt8
        /// When its last datagram arrived (the caller's clock).
        public var lastHeard: Duration
        /// When it last got a copy in the newest version while known as a version 1 sender.
        public var lastProbe: Duration
    }

    /// How often a peer known only from version 1 datagrams gets a copy in the newest version.
    public static let probeInterval = Duration.seconds(10)

    /// This node's advertisement.
    public let local: ProtocolAdvertisement
    /// How long a peer's knowledge is trusted without a datagram: 1.5 heartbeat intervals in the agent, well
    /// inside a restarting node's startup listen (one dead interval, at least 3 heartbeat intervals).
    public let freshness: Duration
    /// What is known of each peer.
    public private(set) var peers: [NodeName: Peer] = [:]

    /// Creates the negotiation for a node that advertises `local`.
    public init(local: ProtocolAdvertisement, freshness: Duration) {
        self.local = local
        self.freshness = freshness
    }

    /// Learns from an authentic, replay-checked envelope that arrived at `now`; returns the peer's knowledge
    /// when it changed (a new boot, or another advertisement), for the log.
    @discardableResult
    public mutating func heard(_ envelope: Envelope, at now: Duration) -> Peer? {
        let name = envelope.message.sender
        let known = peers[name]
        var peer: Peer
        if let advertisement = envelope.advertisement {
            peer = Peer(
                bootID: envelope.bootID,
                versions: advertisement.versions,
                capabilities: advertisement.capabilities,
                product: advertisement.product,
                lastVersion: envelope.version,
                lastHeard: now,
                lastProbe: now
            )
        } else if let known, known.bootID == envelope.bootID, known.product != nil {
            // This boot advertised before: a version 1 datagram from it (the copy it sends a peer it does not
            // know yet) changes nothing it said.
            peer = known
            peer.lastVersion = envelope.version
            peer.lastHeard = now
        } else {
            peer = Peer(
                bootID: envelope.bootID,
                versions: envelope.version...envelope.version,
                capabilities: [],
                product: nil,
                lastVersion: envelope.version,
                lastHeard: now,
                lastProbe: known?.bootID == envelope.bootID ? known!.lastProbe : now
            )
        }
        peers[name] = peer
        let changed =
            known.map {
                $0.bootID != peer.bootID || $0.versions != peer.versions || $0.capabilities != peer.capabilities
                    || $0.product != peer.product
            } ?? true
        return changed ? peer : nil
    }

    /// The highest version both read, or nil when their ranges do not overlap.
    public func common(with peer: Peer) -> UInt8? {
        let low = max(local.versions.lowerBound, peer.versions.lowerBound)
        let high = min(local.versions.upperBound, peer.versions.upperBound)
        return low <= high ? high : nil
    }

    /// Whether `name` was heard and shares no version with this node: it is alive (its datagrams authenticate
    /// and their core is read), but no message of this node reaches it whole.
    public func isIncompatible(_ name: NodeName) -> Bool {
        guard let peer = peers[name] else { return false }
        return common(with: peer) == nil
    }

    /// The versions to send `name` the next message in at `now`, newest first (see the type's rules); counts
    /// a probe as sent.
    public mutating func versions(for name: NodeName, at now: Duration) -> [UInt8] {
        let newest = local.versions.upperBound
        let unknown = [newest, local.versions.lowerBound].uniqued()
        guard var peer = peers[name], now - peer.lastHeard <= freshness else { return unknown }
        // No common version: the newest, whose core a newer peer reads.
        let common = common(with: peer) ?? newest
        guard peer.product == nil, common < newest, now - peer.lastProbe >= Self.probeInterval else { return [common] }
        peer.lastProbe = now
        peers[name] = peer
        return [newest, common]
    }

    /// The versions for a message every peer must read, newest first: the union of what each heard peer gets,
    /// and both ends of this build's range while fewer than `expected` peers were heard (a pair expects one).
    public mutating func versionsForAll(at now: Duration, expected: Int = 1) -> [UInt8] {
        var union = Set<UInt8>()
        for name in peers.keys { union.formUnion(versions(for: name, at: now)) }
        if peers.count < expected || peers.isEmpty {
            union.formUnion([local.versions.lowerBound, local.versions.upperBound])
        }
        return union.sorted(by: >)
    }

    /// The features `name` offers (none when not heard or without an advertisement).
    public func capabilities(of name: NodeName) -> ProtocolCapabilities {
        peers[name]?.capabilities ?? []
    }

    /// `1-2`, or `2` for a single version.
    public static func text(_ versions: ClosedRange<UInt8>) -> String {
        versions.count == 1 ? "\(versions.lowerBound)" : "\(versions.lowerBound)-\(versions.upperBound)"
    }
}

extension Array where Element == UInt8 {
    fileprivate func uniqued() -> [UInt8] {
        var seen: [UInt8] = []
        for value in self where !seen.contains(value) { seen.append(value) }
        return seen
    }
}
