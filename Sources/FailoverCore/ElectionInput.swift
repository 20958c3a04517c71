public import FailoverWire

/// Everything that can happen to a node's election. Each input comes with the instant it happened.
public enum ElectionInput: Sendable {
    /// An authenticated, replay-checked message arrived on a link.
    case receive(Envelope, link: Int)
    /// Time passed. The runtime ticks at least every heartbeat interval.
    case tick
    /// The local proxy engine became ready or stopped being ready.
    case engine(ready: Bool)
    /// The witness answered, or stopped answering, within its timeout.
    case witness(reachable: Bool)
    /// How many links have a bound socket. With none the node can hear no peer: it must not take the role
    /// (a link whose local address is not on the host would otherwise make it claim a VIP its peer holds).
    case links(bound: Int)
    /// The VIP driver finished an operation the core asked for.
    case vip(VIPOperationResult)
    /// The proxy configuration this node serves changed.
    case localConfig(ConfigStamp)
    /// An operator command, with an id the outcome will carry.
    case command(CommandID, AdminCommand)
    /// The process was asked to stop: hand over if primary, release, say goodbye.
    case shutdown
}

/// Identifies an operator command so its outcome can be matched to it.
public typealias CommandID = UInt64

/// What an operator can ask of a node.
public enum AdminCommand: Hashable, Sendable, CustomStringConvertible {
    /// Move the role to the other node (from either node).
    case failover
    /// Make this node primary (a backup asks the primary to hand over).
    case promote
    /// Make this node backup (the primary hands over).
    case demote
    /// Put this node in or out of maintenance; a primary hands over first.
    case maintenance(Bool)

    public var description: String {
        switch self {
        case .failover: "failover"
        case .promote: "promote"
        case .demote: "demote"
        case .maintenance(let on): on ? "maintenance on" : "maintenance off"
        }
    }
}

/// The outcome of a VIP driver operation.
public struct VIPOperationResult: Hashable, Sendable {
    /// The operation id from the action.
    public var operation: UInt64
    /// `nil` on success, else what went wrong.
    public var failure: String?

    /// Creates a result.
    public init(operation: UInt64, failure: String? = nil) {
        self.operation = operation
        self.failure = failure
    }
}
