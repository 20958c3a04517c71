public import FailoverWire

/// Why a planned handoff was started; decides what the old primary becomes after releasing.
public enum HandoffPurpose: Hashable, Sendable {
    /// An operator command on this node (failover, demote).
    case command(CommandID)
    /// `maintenance on` on the primary: become maintenance afterwards.
    case maintenance(CommandID)
    /// The process is stopping.
    case shutdown
    /// The peer asked (its `promote`/`failover`, or preemption).
    case peerAsked
    /// This node cannot serve well (engine not ready, witness unreachable).
    case unhealthy(String)

    var commandID: CommandID? {
        switch self {
        case .command(let id), .maintenance(let id): id
        default: nil
        }
    }
}

/// A planned handoff in progress, seen from one node.
public enum HandoffState: Hashable, Sendable {
    /// Primary: the offer is out, waiting for the target to accept.
    case offering(id: UInt64, target: NodeName, purpose: HandoffPurpose, startedAt: Instant, deadline: Instant)
    /// Primary: the target accepted; the VIP is being released.
    case releasing(id: UInt64, target: NodeName, purpose: HandoffPurpose, startedAt: Instant)
    /// Backup: asked the primary to hand over, waiting for its offer.
    case asking(id: UInt64, primary: NodeName, command: CommandID?, startedAt: Instant, deadline: Instant)
    /// Backup: accepted an offer, waiting for the primary's `released`.
    case accepting(id: UInt64, from: NodeName, command: CommandID?, startedAt: Instant, deadline: Instant)

    var id: UInt64 {
        switch self {
        case .offering(let id, _, _, _, _), .releasing(let id, _, _, _), .asking(let id, _, _, _, _),
            .accepting(let id, _, _, _, _):
            id
        }
    }
}

/// After a primary released in a handoff: it holds back from claiming while the target takes over.
struct Yield: Hashable, Sendable {
    var id: UInt64
    var target: NodeName
    var command: CommandID?
    var startedAt: Instant
    var deadline: Instant
}
