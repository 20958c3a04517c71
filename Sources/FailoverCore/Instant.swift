/// A point on a monotonic clock, in nanoseconds from an arbitrary origin.
///
/// The core never reads a clock: every input comes with the instant it happened, so the same inputs always
/// give the same decisions, in the agent and in the simulator.
public struct Instant: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Nanoseconds since the clock's origin.
    public var nanoseconds: Int64

    /// Creates an instant.
    public init(nanoseconds: Int64) { self.nanoseconds = nanoseconds }

    /// The clock's origin.
    public static let zero = Instant(nanoseconds: 0)

    public static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.nanoseconds < rhs.nanoseconds }

    public static func + (lhs: Instant, rhs: Duration) -> Instant {
        Instant(nanoseconds: lhs.nanoseconds &+ rhs.nanoseconds)
    }

    public static func - (lhs: Instant, rhs: Duration) -> Instant {
        Instant(nanoseconds: lhs.nanoseconds &- rhs.nanoseconds)
    }

    public static func - (lhs: Instant, rhs: Instant) -> Duration {
        .nanoseconds(lhs.nanoseconds &- rhs.nanoseconds)
    }

    public var description: String { "t+\(Duration.nanoseconds(nanoseconds).compactDescription)" }
}

extension Duration {
    /// The duration in whole nanoseconds (saturating).
    public var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? .min : .max }
        return scaled &+ attoseconds / 1_000_000_000
    }

    /// The duration in milliseconds, as a Double.
    public var milliseconds: Double { Double(nanoseconds) / 1_000_000 }

    /// A short human form: `250ms`, `1.5s`, `2m3s`.
    public var compactDescription: String {
        let ns = nanoseconds
        let sign = ns < 0 ? "-" : ""
        let magnitude = ns.magnitude
        if magnitude < 1_000_000 { return "\(sign)\(magnitude / 1_000)µs" }
        if magnitude < 1_000_000_000 { return "\(sign)\(magnitude / 1_000_000)ms" }
        if magnitude < 60_000_000_000 {
            let tenths = magnitude / 100_000_000
            return tenths % 10 == 0 ? "\(sign)\(tenths / 10)s" : "\(sign)\(tenths / 10).\(tenths % 10)s"
        }
        let seconds = magnitude / 1_000_000_000
        return "\(sign)\(seconds / 60)m\(seconds % 60)s"
    }
}
