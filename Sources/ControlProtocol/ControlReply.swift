/// The agent's answer to one request: one JSON object per line.
public struct ControlReply: Codable, Hashable, Sendable {
    /// Whether the command did what was asked.
    public var ok: Bool
    /// One line for the operator.
    public var message: String
    /// Set when `ok` is false: a stable code for scripts.
    public var error: ControlErrorCode?
    /// For commands that take time (failover…): how long, in milliseconds.
    public var elapsedMilliseconds: Double?
    /// For `status`.
    public var status: StatusSnapshot?
    /// For `history`.
    public var history: [HistoryEntry]?

    /// Creates a reply.
    public init(
        ok: Bool,
        message: String,
        error: ControlErrorCode? = nil,
        elapsedMilliseconds: Double? = nil,
        status: StatusSnapshot? = nil,
        history: [HistoryEntry]? = nil
    ) {
        self.ok = ok
        self.message = message
        self.error = error
        self.elapsedMilliseconds = elapsedMilliseconds
        self.status = status
        self.history = history
    }
}

/// Why a command failed, for scripts.
public enum ControlErrorCode: String, Codable, Hashable, Sendable {
    /// The caller is neither root nor in the agent's group.
    case permissionDenied = "permission-denied"
    /// The request was not understood.
    case badRequest = "bad-request"
    /// The election refused or could not complete the command (reason in `message`).
    case refused
    /// The new configuration is invalid; the old one stays in use.
    case invalidConfiguration = "invalid-configuration"
    /// The agent is stopping.
    case shuttingDown = "shutting-down"
}

/// One line of `failoverctl history`.
public struct HistoryEntry: Codable, Hashable, Sendable {
    /// Wall-clock time, ISO 8601 (UTC).
    public var at: String
    public var from: String
    public var to: String
    public var term: UInt64
    public var reason: String

    /// Creates an entry.
    public init(at: String, from: String, to: String, term: UInt64, reason: String) {
        self.at = at
        self.from = from
        self.to = to
        self.term = term
        self.reason = reason
    }
}
