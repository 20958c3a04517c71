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
    /// For `config-history`: the kept versions, newest first.
    public var configVersions: [ConfigVersion]?
    /// The agent's release (nil from agents before 0.4).
    public var agent: String? = productVersion

    /// Creates a reply.
    public init(
        ok: Bool,
        message: String,
        error: ControlErrorCode? = nil,
        elapsedMilliseconds: Double? = nil,
        status: StatusSnapshot? = nil,
        history: [HistoryEntry]? = nil,
        configVersions: [ConfigVersion]? = nil
    ) {
        self.ok = ok
        self.message = message
        self.error = error
        self.elapsedMilliseconds = elapsedMilliseconds
        self.status = status
        self.history = history
        self.configVersions = configVersions
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
    /// A code this failoverctl does not know (an agent of a newer release): the message says what happened.
    case unrecognized

    /// Reads a code; one this release does not know becomes ``unrecognized`` instead of failing the reply.
    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        self = ControlErrorCode(rawValue: text) ?? .unrecognized
    }
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

/// One kept version of the engine's config bundle (`failoverctl history --config`).
public struct ConfigVersion: Codable, Hashable, Sendable {
    /// When it was kept, ISO 8601 (UTC).
    public var savedAt: String
    public var generation: UInt64
    /// The first 12 hex digits of its SHA-256.
    public var hash: String
    /// `served` (this node served it) or `rejected` (replaced by the primary's version without the primary
    /// ever having had it: a local edit on this node, or the losing side of a partition).
    public var status: String
    /// Where it came from, e.g. `edited on lb1`, `fetched from lb1`, `replaced by lb1's generation 7, which
    /// never had it`.
    public var origin: String
    /// The directory holding its files.
    public var path: String

    /// Creates an entry.
    public init(savedAt: String, generation: UInt64, hash: String, status: String, origin: String, path: String) {
        self.savedAt = savedAt
        self.generation = generation
        self.hash = hash
        self.status = status
        self.origin = origin
        self.path = path
    }
}
