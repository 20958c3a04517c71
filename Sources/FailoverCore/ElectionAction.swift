public import FailoverWire

/// What the core wants done. The runtime performs actions in the order given.
public enum ElectionAction: Hashable, Sendable {
    /// Seal and send this message on this link to the peers there.
    case send(Message, link: Int)
    /// Add the shared IP(s) and announce them (gratuitous ARP / unsolicited NA). Report with the operation id.
    case claimVIP(operation: UInt64)
    /// Remove the shared IP(s). Report with the operation id.
    case releaseVIP(operation: UInt64)
    /// Announce the shared IP(s) again: the VIP is held and a neighbour may have a stale entry.
    case announceVIP(reason: String)
    /// The role or its reason changed.
    case statusChanged(Transition)
    /// An operator command finished.
    case commandFinished(CommandID, CommandOutcome)
    /// Shutdown finished: the VIP is released and the peers were told. The process may exit.
    case shutdownComplete
}

/// One role change, as kept in the history and shown by `failoverctl history`.
public struct Transition: Hashable, Sendable {
    /// When it happened.
    public var at: Instant
    /// The role before.
    public var from: Role
    /// The role after.
    public var to: Role
    /// The node's term after.
    public var term: UInt64
    /// Why, in words an operator understands.
    public var reason: String

    /// Creates a transition record.
    public init(at: Instant, from: Role, to: Role, term: UInt64, reason: String) {
        self.at = at
        self.from = from
        self.to = to
        self.term = term
        self.reason = reason
    }
}

/// How an operator command ended.
public struct CommandOutcome: Hashable, Sendable {
    /// Whether it did what was asked.
    public var succeeded: Bool
    /// One line for the operator.
    public var message: String
    /// From the command's arrival to its end.
    public var elapsed: Duration
    /// The VIP moved as the command asked (a handoff completed, a promote claimed it).
    public var movedVIP: Bool

    /// Creates an outcome.
    public init(succeeded: Bool, message: String, elapsed: Duration, movedVIP: Bool = false) {
        self.succeeded = succeeded
        self.message = message
        self.elapsed = elapsed
        self.movedVIP = movedVIP
    }
}

/// The core's view of the shared IP on this node, driven by the VIP driver's reports.
public enum VIPState: String, Hashable, Sendable {
    case released
    case claiming
    case held
    case releasing

    /// Whether the VIP is or may be on the interface.
    public var mayBeHeld: Bool { self != .released }
}
