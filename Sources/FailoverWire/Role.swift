/// The role a node plays, as it announces it in every datagram.
public enum Role: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    /// Just started: listening for one full dead interval before it may claim.
    case initializing = 0
    /// Warm standby: ready to take over.
    case backup = 1
    /// Holds the shared IP and serves traffic.
    case primary = 2
    /// Cannot serve (engine not ready, witness unreachable, VIP claim failed): never claims.
    case fault = 3
    /// Put aside by an operator: never becomes primary.
    case maintenance = 4

    public var description: String {
        switch self {
        case .initializing: "initializing"
        case .backup: "backup"
        case .primary: "primary"
        case .fault: "fault"
        case .maintenance: "maintenance"
        }
    }
}
