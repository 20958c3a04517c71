/// Per-peer replay protection: the peer's newest boot id and a sliding window of the sequence numbers seen
/// in that boot (like IPsec's anti-replay window).
///
/// Boot ids grow with the sender's start time (docs/protocol.md), so a datagram from an older boot is a
/// replay. Within a boot, a sequence number already seen, or more than ``size`` below the newest, is refused.
public struct ReplayWindow: Hashable, Sendable {
    /// How many sequence numbers below the newest are still accepted (once each).
    public static let size: UInt64 = 64

    /// The verdict on one datagram.
    public enum Verdict: Hashable, Sendable {
        /// Not seen before: accept (then ``record(bootID:sequence:)``).
        case fresh
        /// From an older boot of the peer.
        case staleBoot
        /// This sequence number was already accepted.
        case duplicate
        /// Too far below the newest sequence number to tell.
        case tooOld
    }

    /// The newest boot id seen.
    public private(set) var bootID: UInt64
    /// The newest sequence number seen in that boot.
    public private(set) var highest: UInt64
    /// Bit i set: sequence `highest - i` was seen.
    private var seen: UInt64

    /// A window that has seen `sequence` of `bootID`.
    public init(bootID: UInt64, sequence: UInt64) {
        self.bootID = bootID
        self.highest = sequence
        self.seen = 1
    }

    /// A window restored from a checkpoint of an earlier run of this node: every sequence number up to
    /// `checkpoint.sequence` of `checkpoint.bootID` counts as seen, so datagrams captured before the checkpoint
    /// are refused after a restart.
    public init(checkpoint: ReplayCheckpoint) {
        self.bootID = checkpoint.bootID
        self.highest = checkpoint.sequence
        self.seen = .max
    }

    /// Where the window stands: the newest boot id and sequence number seen.
    public var checkpoint: ReplayCheckpoint { ReplayCheckpoint(bootID: bootID, sequence: highest) }

    /// Judges a datagram without recording it.
    public func check(bootID: UInt64, sequence: UInt64) -> Verdict {
        if bootID < self.bootID { return .staleBoot }
        if bootID > self.bootID { return .fresh }
        if sequence > highest { return .fresh }
        let distance = highest - sequence
        if distance >= ReplayWindow.size { return .tooOld }
        return seen & (1 << distance) != 0 ? .duplicate : .fresh
    }

    /// Records an accepted datagram. Call only after ``check(bootID:sequence:)`` said `.fresh`.
    public mutating func record(bootID: UInt64, sequence: UInt64) {
        if bootID > self.bootID {
            self = ReplayWindow(bootID: bootID, sequence: sequence)
            return
        }
        if sequence > highest {
            let shift = sequence - highest
            seen = shift >= ReplayWindow.size ? 1 : (seen << shift) | 1
            highest = sequence
        } else {
            seen |= 1 << (highest - sequence)
        }
    }
}
