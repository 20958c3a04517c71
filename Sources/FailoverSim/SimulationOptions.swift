public import FailoverCore

/// What a simulation run does. Everything random derives from ``seed``.
public struct SimulationOptions: Sendable {
    /// Which faults the run injects.
    public enum Profile: String, Sendable, CaseIterable {
        /// Partitions, loss, crashes, stalls, engine and witness flips, admin commands, shutdowns, forgeries.
        case chaos
        /// 20 % loss on one link and 5 % on the other, jitter, nothing else: no role may change.
        case stability
        /// A clean network and no faults: one election, then nothing.
        case quiet
    }

    /// The seed every random choice derives from.
    public var seed: UInt64
    /// How long the run lasts in simulated time.
    public var duration: Duration
    /// 2 or 3 nodes (the seed picks when nil).
    public var nodeCount: Int?
    /// The fault profile.
    public var profile: Profile
    /// Rules broken on purpose in every node (to show the checker catches them).
    public var mutations: Set<ElectionConfiguration.Mutation>
    /// Break config sync on purpose: the primary never re-stamps (to show the checker catches it).
    public var brokenSync = false
    /// Break replay protection across restarts on purpose: a restarted node forgets its replay checkpoints
    /// (to show the checker catches the forger's replays of an earlier run).
    public var forgetReplayCheckpoints = false
    /// In chaos runs, let nodes run the previous release (datagram version 1 only) and switch release on
    /// restart: upgrades and rollbacks in the middle of faults.
    public var mixedReleases = true
    /// Break negotiation on purpose: a peer not heard lately gets only the newest version, not a copy in the
    /// oldest (to show the checker catches a previous-release node that cannot hear its peer).
    public var newestOnlyToUnheard = false
    /// Keep a trace of events (for replaying one failing seed).
    public var trace: Bool

    /// Creates options.
    public init(
        seed: UInt64,
        duration: Duration = .seconds(120),
        nodeCount: Int? = nil,
        profile: Profile = .chaos,
        mutations: Set<ElectionConfiguration.Mutation> = [],
        trace: Bool = false
    ) {
        self.seed = seed
        self.duration = duration
        self.nodeCount = nodeCount
        self.profile = profile
        self.mutations = mutations
        self.trace = trace
    }
}
