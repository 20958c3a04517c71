/// What the engine supervisor tells the main loop: whether the local proxy engine can serve, and what
/// `failoverctl status` shows about it.
struct EngineReport: Sendable, Equatable {
    enum State: String, Sendable {
        /// No `engine.config`: nothing is supervised and the node is always eligible.
        case unsupervised = "not supervised"
        case starting
        case ready
        /// Restarting after an exit, a missed readiness deadline or failed probes.
        case restarting
        case stopped
    }

    var state: State
    var kind: String
    var pid: Int32?
    var restarts: Int
    var lastExit: String?
    /// Why the state is what it is (for the log and status).
    var detail: String

    /// Whether the election may count on the engine.
    var ready: Bool { state == .ready || state == .unsupervised }

    /// One line for `failoverctl status`.
    var summary: String {
        var parts = [state.rawValue]
        if state != .unsupervised { parts.append(pid.map { "\(kind) pid \($0)" } ?? kind) }
        if restarts > 0 { parts.append("\(restarts) restart\(restarts == 1 ? "" : "s")") }
        if let lastExit { parts.append("last exit: \(lastExit)") }
        if !detail.isEmpty && state != .ready { parts.append(detail) }
        return parts.joined(separator: " · ")
    }
}
