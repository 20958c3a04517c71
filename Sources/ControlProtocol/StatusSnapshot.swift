/// Everything `failoverctl status` shows.
public struct StatusSnapshot: Codable, Hashable, Sendable {
    /// One link to a peer.
    public struct Link: Codable, Hashable, Sendable {
        public var index: Int
        public var local: String
        public var peer: String
        public var alive: Bool
        /// Milliseconds since the last valid datagram on this link (nil: never).
        public var lastHeardMilliseconds: Double?
        /// The latest round trip in milliseconds (nil: not measured yet).
        public var roundTripMilliseconds: Double?

        public init(
            index: Int,
            local: String,
            peer: String,
            alive: Bool,
            lastHeardMilliseconds: Double?,
            roundTripMilliseconds: Double?
        ) {
            self.index = index
            self.local = local
            self.peer = peer
            self.alive = alive
            self.lastHeardMilliseconds = lastHeardMilliseconds
            self.roundTripMilliseconds = roundTripMilliseconds
        }
    }

    /// A peer as this node sees it.
    public struct Peer: Codable, Hashable, Sendable {
        public var name: String
        public var alive: Bool
        public var role: String
        public var term: UInt64
        public var priority: Int
        public var engineReady: Bool
        public var witnessOK: Bool
        public var maintenance: Bool
        public var holdsVIP: Bool
        public var configGeneration: UInt64
        public var configHash: String
        public var links: [Link]
        /// The peer's release, from its datagrams (nil: it sends version 1 datagrams, so 0.3.0 or older).
        public var release: String?
        /// The datagram versions the peer reads, `1-2` (nil from agents before 0.4.0).
        public var protocolVersions: String?
        /// The version spoken with it: the highest both read; 0 when they share none (nil from agents before 0.4.0).
        public var protocolSpoken: Int?

        public init(
            name: String,
            alive: Bool,
            role: String,
            term: UInt64,
            priority: Int,
            engineReady: Bool,
            witnessOK: Bool,
            maintenance: Bool,
            holdsVIP: Bool,
            configGeneration: UInt64,
            configHash: String,
            links: [Link],
            release: String? = nil,
            protocolVersions: String? = nil,
            protocolSpoken: Int? = nil
        ) {
            self.name = name
            self.alive = alive
            self.role = role
            self.term = term
            self.priority = priority
            self.engineReady = engineReady
            self.witnessOK = witnessOK
            self.maintenance = maintenance
            self.holdsVIP = holdsVIP
            self.configGeneration = configGeneration
            self.configHash = configHash
            self.links = links
            self.release = release
            self.protocolVersions = protocolVersions
            self.protocolSpoken = protocolSpoken
        }
    }

    public var node: String
    public var role: String
    /// Wall-clock time of the last role change, ISO 8601 (UTC).
    public var roleSince: String
    public var reason: String
    public var term: UInt64
    public var priority: Int
    public var maintenance: Bool
    /// `released`, `claiming`, `held` or `releasing`.
    public var vipState: String
    /// The configured shared addresses, `ADDR/PREFIX dev IFACE`.
    public var vips: [String]
    /// Who holds the VIP as far as this node knows (nil: nobody).
    public var vipHolder: String?
    public var engine: String
    /// `reachable`, `unreachable`, `unknown`, or nil when no witness is configured.
    public var witness: String?
    public var configGeneration: UInt64
    public var configHash: String
    public var keyFingerprint: String
    public var peers: [Peer]
    /// Datagrams refused, by reason.
    public var rejected: [String: Int]
    /// What is wrong with the config on disk or its sync, if anything (nil: nothing to say).
    public var configNote: String?
    /// This node's release (nil from agents before 0.4.0).
    public var release: String?
    /// The engine's state, one word: `ready`, `starting`, `restarting`, `stopped` or `not supervised` (nil from
    /// agents before 0.4.0; `engine` is the line for people).
    public var engineState: String?
    /// The engine's process id while it runs.
    public var enginePid: Int?
    /// How often the supervisor restarted it.
    public var engineRestarts: Int?
    /// The datagram versions this node reads, `1-2` (nil from agents before 0.4.0).
    public var protocolVersions: String?

    public init(
        node: String,
        role: String,
        roleSince: String,
        reason: String,
        term: UInt64,
        priority: Int,
        maintenance: Bool,
        vipState: String,
        vips: [String],
        vipHolder: String?,
        engine: String,
        witness: String?,
        configGeneration: UInt64,
        configHash: String,
        keyFingerprint: String,
        peers: [Peer],
        rejected: [String: Int],
        configNote: String? = nil,
        release: String? = nil,
        protocolVersions: String? = nil,
        engineState: String? = nil,
        enginePid: Int? = nil,
        engineRestarts: Int? = nil
    ) {
        self.node = node
        self.role = role
        self.roleSince = roleSince
        self.reason = reason
        self.term = term
        self.priority = priority
        self.maintenance = maintenance
        self.vipState = vipState
        self.vips = vips
        self.vipHolder = vipHolder
        self.engine = engine
        self.witness = witness
        self.configGeneration = configGeneration
        self.configHash = configHash
        self.keyFingerprint = keyFingerprint
        self.peers = peers
        self.rejected = rejected
        self.configNote = configNote
        self.release = release
        self.protocolVersions = protocolVersions
        self.engineState = engineState
        self.enginePid = enginePid
        self.engineRestarts = engineRestarts
    }
}
