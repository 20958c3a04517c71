/// What an operator asks the agent over the control socket: one JSON object per line.
///
/// `{"command":"failover"}` — docs/control.md lists every command and reply.
public struct ControlRequest: Codable, Hashable, Sendable {
    /// The command.
    public var command: ControlCommand

    /// Creates a request.
    public init(command: ControlCommand) { self.command = command }
}

/// The commands of the control socket.
public enum ControlCommand: String, Codable, Hashable, Sendable, CaseIterable {
    case status
    case history
    case failover
    case promote
    case demote
    case maintenanceOn = "maintenance-on"
    case maintenanceOff = "maintenance-off"
    case reload
    /// Config sync now: on the primary, push its version to the peer; on a backup, fetch without waiting.
    case sync
    /// The config versions kept in the history directory.
    case configHistory = "config-history"

    /// Whether the command changes state (and so needs a privileged caller).
    public var changesState: Bool {
        switch self {
        case .status, .history, .configHistory: false
        default: true
        }
    }
}
