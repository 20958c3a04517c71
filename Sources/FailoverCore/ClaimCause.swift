public import FailoverWire

/// Why a node took the role: what the simulator and the shell act on, instead of reading the transition's
/// words (rewording a reason must never change what is counted).
public enum ClaimCause: Hashable, Sendable {
    /// The election: no live primary, this node the best candidate.
    case takeover
    /// A planned handoff from `from` (operator failover, preemption, a clean stop).
    case plannedHandoff(from: NodeName)
    /// `failoverctl promote` with no primary alive.
    case promoted
}
