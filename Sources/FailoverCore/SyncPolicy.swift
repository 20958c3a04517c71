import FailoverWire

/// What config sync should do next on this node, decided from the stamps and roles both nodes announce in
/// their heartbeats. Pure: the I/O (watching files, fetching, writing) asks this and acts.
public enum SyncDecision: Hashable, Sendable {
    /// Both nodes serve the same configuration.
    case inSync
    /// Backup: fetch the primary's version (newer than ours), validate it, write it, reload.
    case fetch(from: NodeName, stamp: ConfigStamp)
    /// Primary: a peer announces a generation at least as high as ours with other bytes (both sides edited
    /// during a partition, or the peer is a former primary): our bytes stay the source, under a generation
    /// above the peer's, so the peer fetches them and no node ever goes back to a lower generation.
    case restamp(generation: UInt64)
    /// The versions differ but this node does nothing now; the reason is for status.
    case wait(String)
}

/// The rules of config sync (docs/sync.md): the primary is the only source; generations only go up; a
/// node applies a fetched version only when its generation is above the one it serves.
public enum SyncPolicy {
    /// The decision for a node in `role` serving `local`, facing a live peer in `peerRole` announcing `peer`
    /// (nil when no peer is alive).
    public static func decide(
        role: Role,
        local: ConfigStamp,
        peer: (name: NodeName, role: Role, stamp: ConfigStamp)?
    ) -> SyncDecision {
        guard let peer else { return .inSync }
        if peer.stamp == local { return .inSync }
        switch role {
        case .primary:
            if peer.stamp.generation >= local.generation {
                return .restamp(generation: peer.stamp.generation.saturatingSuccessor)
            }
            return .wait("\(peer.name) serves generation \(peer.stamp.generation); it fetches ours")
        default:
            guard peer.role == .primary else {
                return .wait("\(peer.name) is \(peer.role), not primary: nothing to fetch from")
            }
            guard peer.stamp.generation > local.generation else {
                return .wait("\(peer.name) is primary with another version; waiting for it to re-stamp")
            }
            return .fetch(from: peer.name, stamp: peer.stamp)
        }
    }

    /// The generation for a new version accepted on the primary (an operator's edit): above everything seen.
    public static func nextGeneration(local: ConfigStamp, peer: ConfigStamp?) -> UInt64 {
        max(local.generation, peer?.generation ?? 0).saturatingSuccessor
    }

    /// Whether a fetched version may replace the one served: never an older or equal generation.
    public static func mayApply(fetched: ConfigStamp, serving: ConfigStamp) -> Bool {
        fetched.generation > serving.generation
    }
}

/// What became of a version that a fetched one replaced on disk.
public enum ReplacedVersion: String, Hashable, Sendable {
    /// The primary had it too, before its current version: an ordinary update.
    case superseded
    /// The primary never had it: a local edit on this node, or the losing side of a partition in which both
    /// edited. Kept in the history directory and reported.
    case rejected
}

extension SyncPolicy {
    /// Whether the version with `hash` that a fetched version replaces was superseded (the primary served it
    /// before: it is in `ancestors`, or it is the fetched version itself) or rejected.
    public static func replaced(hash: [UInt8], fetched: ConfigStamp, ancestors: [[UInt8]]) -> ReplacedVersion {
        hash == fetched.hash || ancestors.contains(hash) ? .superseded : .rejected
    }
}
