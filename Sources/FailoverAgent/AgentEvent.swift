import ControlProtocol
import FailoverCore
import NIOCore

/// Everything the agent's main loop reacts to. Other tasks only ever send these; the loop owns the election.
enum AgentEvent: Sendable {
    /// A datagram arrived on a link from the link's peer address (the socket's ``LinkIntake`` checked it).
    case datagram([UInt8], link: Int)
    /// The ticker fired.
    case tick
    /// A link's socket is bound.
    case linkBound(Int, any Channel)
    /// The VIP driver finished an operation.
    case vip(VIPOperationResult)
    /// The reconciler found the VIP missing while held, or present while not held, and fixed it.
    case vipDrift(String)
    /// An operator request, with who sent it and how to answer.
    case control(ControlRequest, ControlCaller, @Sendable (ControlReply) -> Void)
    /// SIGTERM / SIGINT.
    case shutdown
    /// SIGHUP or `failoverctl reload`.
    case reload(reply: (@Sendable (ControlReply) -> Void)?)
    /// The witness answered or not.
    case witness(Bool)
    /// The engine supervisor's view of the local engine changed.
    case engine(EngineReport)
    /// The engine's config bundle on disk has new content.
    case configEdited(ConfigEdit)
    /// The sync worker finished a fetch.
    case sync(SyncOutcome)
}

/// Who is on the other end of a control connection.
struct ControlCaller: Sendable, CustomStringConvertible {
    var uid: UInt32
    var gid: UInt32
    var pid: Int32
    /// Root, or a member of the control group.
    var privileged: Bool

    var description: String { "uid=\(uid) pid=\(pid)" }
}
