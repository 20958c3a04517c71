public import FailoverWire

/// What a node's election needs to know about itself and its timers.
public struct ElectionConfiguration: Sendable {
    /// This node's name (unique in the cluster).
    public var name: NodeName
    /// Higher wins an election (1-255).
    public var priority: UInt8
    /// Whether a healthy backup with a higher priority takes the role back from a healthy primary.
    public var preempt: Bool
    /// How long a higher-priority backup must have been healthy before it preempts.
    public var preemptDelay: Duration
    /// How often a heartbeat goes out on every link.
    public var heartbeatInterval: Duration
    /// A peer silent on every link for this long is dead. At least 3 heartbeat intervals.
    public var deadInterval: Duration
    /// How many links (independent paths to the peers) there are; messages go out on each.
    public var linkCount: Int
    /// Whether a witness is configured; if so a node claims or keeps the VIP only while it reaches it.
    public var witnessConfigured: Bool
    /// How long a planned handoff may take at each step before it is abandoned.
    public var handoffTimeout: Duration
    /// How long a primary's engine may be not ready before the primary hands over to a healthy peer.
    public var engineGracePeriod: Duration
    /// After a failed VIP claim, how long the node stays in fault before it may claim again.
    public var claimRetryDelay: Duration
    /// With no primary, how long a backup leaves the role to a higher-priority peer that came alive this
    /// recently and whose engine is not ready yet (still starting), so that priorities, not start-up speed,
    /// decide when both nodes start together. Zero: no wait. The agent sets its engine's grace period.
    public var peerStartWait: Duration = .zero
    /// How many transitions the history keeps.
    public var historyLimit: Int
    /// Deliberately broken rules, to show the simulator catches them. Never set outside tests.
    public var mutations: Set<Mutation> = []

    /// A rule that can be broken on purpose in tests.
    public enum Mutation: String, Sendable, CaseIterable {
        /// Claim right away at startup instead of listening for one dead interval.
        case skipStartupWait
        /// Declare peers dead right after a process stall.
        case ignoreStalls
        /// Claim in a planned handoff as soon as the peer accepts, before the old primary released.
        case claimBeforeRelease
    }

    /// Creates a configuration with the product's defaults.
    public init(
        name: NodeName,
        priority: UInt8 = 100,
        preempt: Bool = false,
        preemptDelay: Duration = .seconds(1),
        heartbeatInterval: Duration = .milliseconds(50),
        deadInterval: Duration = .milliseconds(250),
        linkCount: Int = 1,
        witnessConfigured: Bool = false,
        handoffTimeout: Duration = .seconds(1),
        engineGracePeriod: Duration = .seconds(3),
        claimRetryDelay: Duration = .seconds(2),
        historyLimit: Int = 100
    ) {
        self.name = name
        self.priority = priority
        self.preempt = preempt
        self.preemptDelay = preemptDelay
        self.heartbeatInterval = heartbeatInterval
        self.deadInterval = deadInterval
        self.linkCount = linkCount
        self.witnessConfigured = witnessConfigured
        self.handoffTimeout = handoffTimeout
        self.engineGracePeriod = engineGracePeriod
        self.claimRetryDelay = claimRetryDelay
        self.historyLimit = historyLimit
    }
}
