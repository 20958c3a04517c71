import Foundation

/// What an operator asks the agent over the control socket: one JSON object per line.
///
/// `{"command":"failover"}` — docs/control.md lists every command and reply.
public struct ControlRequest: Codable, Hashable, Sendable {
    /// The command.
    public var command: ControlCommand
    /// The caller's release (failoverctl's ``productVersion``), so an agent of another release can say which
    /// side is older; nil from failoverctl before 0.4.
    public var client: String?

    /// Creates a request.
    public init(command: ControlCommand, client: String? = productVersion) {
        self.command = command
        self.client = client
    }

    /// Reads one request line. Never throws: a line that is not a request of this release says why, naming
    /// both releases when the command is one this agent does not know (a newer failoverctl).
    public static func parse(_ line: [UInt8]) -> Result<ControlRequest, ControlRequestError> {
        if let request = try? JSONDecoder().decode(ControlRequest.self, from: Data(line)) {
            return .success(request)
        }
        struct Loose: Decodable {
            var command: String?
            var client: String?
        }
        if let loose = try? JSONDecoder().decode(Loose.self, from: Data(line)), let command = loose.command {
            return .failure(.unknownCommand(command, client: loose.client))
        }
        return .failure(.malformed)
    }
}

/// Why a control line is not a request.
public enum ControlRequestError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Not a JSON object with a string `command`.
    case malformed
    /// A command this agent's release does not have.
    case unknownCommand(String, client: String?)

    public var description: String {
        let known = ControlCommand.allCases.map(\.rawValue).joined(separator: ", ")
        switch self {
        case .malformed:
            return "bad request: expected {\"command\": one of \(known)}"
        case .unknownCommand(let command, let client):
            let versions =
                client.map { "failoverctl \($0) against agent \(productVersion)" }
                ?? "agent \(productVersion)"
            return "unknown command '\(command)' (\(versions)): this agent knows \(known); use the failoverctl "
                + "of the agent's release, or upgrade the agent"
        }
    }
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
