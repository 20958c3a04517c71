import FailoverCore

/// An invariant broken during a run: which one, when, and what the checker saw.
public struct Violation: Hashable, Sendable, CustomStringConvertible {
    /// The invariants the checker enforces (docs/election.md explains each for operators).
    public enum Invariant: String, Hashable, Sendable, CaseIterable {
        /// Two connected nodes hold the VIP longer than the resolution bound, or at all during a planned handoff.
        case safety
        /// A healthy node cut off from all others does not hold the VIP within the bound.
        case liveness
        /// A role changed under loss that the failure detector must ride out.
        case stability
        /// A node's term went down.
        case termMonotonic = "term-monotonic"
        /// A tampered, forged or replayed datagram was accepted.
        case authenticity
        /// A node took the VIP by election from a healthy primary it could hear.
        case needlessTakeover = "needless-takeover"
        /// A node's config generation went down (an older config was applied).
        case configMonotonic = "config-monotonic"
        /// A primary and a connected node still serve different configs well after the last edit.
        case configConvergence = "config-convergence"
        /// A node sent a datagram version its peer cannot read after hearing that peer's current boot.
        case negotiation
    }

    /// Which invariant.
    public var invariant: Invariant
    /// When (simulated time).
    public var at: Instant
    /// The event number at which it was found (replay with the seed to reach it).
    public var step: Int
    /// What was seen.
    public var detail: String

    public var description: String { "[\(invariant.rawValue)] step \(step) at \(at): \(detail)" }
}

/// What a run measured.
public struct SimulationReport: Sendable {
    /// The run's seed.
    public var seed: UInt64
    /// Nodes in the run.
    public var nodeCount: Int
    /// Simulated time covered.
    public var simulated: Duration
    /// Events processed.
    public var steps: Int
    /// Takeovers by election (not planned handoffs, not the first election).
    public var failovers: Int
    /// Planned handoffs completed.
    public var handoffs: Int
    /// Longest time nobody held the VIP while some node could have (after the first election).
    public var maxNoHolder: Duration
    /// Longest time two or more nodes held the VIP at once (any cause, partitions included).
    public var maxDualHolder: Duration
    /// Longest dual holding between connected nodes.
    public var maxConnectedDualHolder: Duration
    /// Datagrams sent by the nodes.
    public var datagrams: Int
    /// Forged, tampered or replayed datagrams injected, and how many were rejected.
    public var forgeries: Int
    /// Forgeries rejected (must equal ``forgeries``).
    public var forgeriesRejected: Int
    /// Datagrams a node of the previous release could not read (sent before the sender heard it).
    public var unreadable: Int
    /// Restarts on another release (upgrades and rollbacks).
    public var releaseSwitches = 0
    /// Role changes seen at all nodes.
    public var roleChanges: Int
    /// Invariants broken (empty when the run passed).
    public var violations: [Violation]
    /// The event trace, when asked for.
    public var trace: [String]

    /// Whether every invariant held.
    public var passed: Bool { violations.isEmpty }
}
