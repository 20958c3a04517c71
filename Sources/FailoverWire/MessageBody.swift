/// The type of a message and its type-specific fields.
public enum MessageBody: Hashable, Sendable {
    /// "I am alive": sent on every link every heartbeat interval.
    case heartbeat(HeartbeatTiming)
    /// A planned handoff: the primary offers the role to `target`, or a backup asks the primary for it.
    case handoffRequest(HandoffRequest)
    /// The target of an offer is ready to take over; the primary may release.
    case handoffAccept(handoffID: UInt64)
    /// The target of an offer (or the primary asked) refuses, with the reason.
    case handoffReject(handoffID: UInt64, reason: HandoffRejectReason)
    /// The primary has let go of the shared IP for this handoff: `target` may claim now (other nodes treat
    /// it as taking over).
    case released(handoffID: UInt64, target: NodeName)
    /// The sender shuts down. The `holdsVIP` flag says whether it still held the shared IP.
    case leaving

    /// The type byte on the wire.
    public var kind: MessageKind {
        switch self {
        case .heartbeat: .heartbeat
        case .handoffRequest: .handoffRequest
        case .handoffAccept: .handoffAccept
        case .handoffReject: .handoffReject
        case .released: .released
        case .leaving: .leaving
        }
    }
}

/// The type byte of a datagram.
public enum MessageKind: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    case heartbeat = 1
    case handoffRequest = 2
    case handoffAccept = 3
    case handoffReject = 4
    case released = 5
    case leaving = 6

    public var description: String {
        switch self {
        case .heartbeat: "heartbeat"
        case .handoffRequest: "handoff_request"
        case .handoffAccept: "handoff_accept"
        case .handoffReject: "handoff_reject"
        case .released: "released"
        case .leaving: "leaving"
        }
    }
}

/// Timestamps a heartbeat carries so each side can measure the round trip on every link.
public struct HeartbeatTiming: Hashable, Sendable {
    /// The sender's monotonic clock when it sent this heartbeat, in nanoseconds.
    public var sentAt: UInt64
    /// The `sentAt` of the last heartbeat the sender received from the addressee on this link (0 if none).
    public var echo: UInt64
    /// How long the sender held that echo before sending this one, in nanoseconds.
    public var echoHeld: UInt64

    /// Creates heartbeat timing fields.
    public init(sentAt: UInt64, echo: UInt64 = 0, echoHeld: UInt64 = 0) {
        self.sentAt = sentAt
        self.echo = echo
        self.echoHeld = echoHeld
    }
}

/// A planned-handoff request.
public struct HandoffRequest: Hashable, Sendable {
    /// Who started it: the primary offering, or a backup asking.
    public enum Intent: UInt8, Sendable {
        /// The primary offers the role to `target`.
        case offer = 1
        /// A backup asks the primary to hand the role to it (`target` is the asker).
        case ask = 2
    }

    /// Identifies this handoff in accept, reject and released messages.
    public var handoffID: UInt64
    /// Offer or ask.
    public var intent: Intent
    /// The node that is to become primary.
    public var target: NodeName

    /// Creates a request.
    public init(handoffID: UInt64, intent: Intent, target: NodeName) {
        self.handoffID = handoffID
        self.intent = intent
        self.target = target
    }
}

/// Why a node refused a handoff.
public enum HandoffRejectReason: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    case engineNotReady = 1
    case witnessUnreachable = 2
    case inMaintenance = 3
    case notBackup = 4
    case busy = 5
    case notPrimary = 6
    case starting = 7
    case inFault = 8
    case otherPrimary = 9

    public var description: String {
        switch self {
        case .engineNotReady: "its engine is not ready"
        case .witnessUnreachable: "it cannot reach the witness"
        case .inMaintenance: "it is in maintenance"
        case .notBackup: "it is not a backup"
        case .busy: "another handoff is in progress"
        case .notPrimary: "it is not the primary"
        case .starting: "it is still starting"
        case .inFault: "it is in fault"
        case .otherPrimary: "it hears another node holding the VIP"
        }
    }
}
