public import ProxyConfig

#if canImport(Glibc)
import Glibc
#endif

/// The engine's connection limit against its descriptor limit, as HAProxy 2.6 sets it.
///
/// Every proxied connection takes two descriptors (client and server). Without `global maxconn`, HAProxy
/// derives the limit from the soft `RLIMIT_NOFILE` at start: (limit − 26 − listeners) / 2 (measured: 1 024
/// descriptors and one listener plus the stats socket give 498; 4 096 give 2 034), and every frontend
/// without its own `maxconn` takes that. The engine does the same, also keeping 3 descriptors for each event
/// loop (epoll, eventfd, timerfd), one batch of held accepts per listener (``AcceptGate``) and one per checked
/// server, so it stops accepting before `accept` fails with EMFILE. With `global
/// maxconn`, HAProxy raises the soft limit to what that needs and refuses to start when the hard limit is
/// lower (`strict-limits`, on by default in 2.6); the engine does the same.
public enum DescriptorBudget {
    /// What HAProxy keeps for itself beyond the listeners.
    public static let reserved = 26

    /// Accepted connections one listener's ``AcceptGate`` may hold unserved when the engine is full (one batch
    /// of NIO's accepts).
    public static let heldPerListener = 64

    /// The descriptors kept for everything but connections: HAProxy's reserve, the listeners, each event
    /// loop's three, a batch held per listener, one per checked server (a check in progress).
    public static func reserve(listeners: Int, eventLoops: Int, checkedServers: Int = 0) -> Int {
        reserved + listeners * (1 + heldPerListener) + 3 * eventLoops + checkedServers
    }

    /// `global maxconn` when the configuration has none: half of what the reserve leaves (at least 1).
    public static func defaultMaxConnections(descriptorLimit: Int, reserve: Int) -> Int {
        max(1, (descriptorLimit - reserve) / 2)
    }

    /// Descriptors needed for `maxConnections` connections.
    public static func needed(maxConnections: Int, reserve: Int) -> Int { 2 * maxConnections + reserve }

    /// What the start decided.
    public enum Outcome: Equatable, Sendable {
        /// No `global maxconn`: this one, from the descriptor limit.
        case derived(maxConnections: Int, descriptorLimit: Int)
        /// `global maxconn` fits the soft limit as it is.
        case fits
        /// The soft limit was raised to this many descriptors for `global maxconn`.
        case raised(to: Int)
    }

    /// Why the engine cannot serve `global maxconn`.
    public struct Shortfall: Error, CustomStringConvertible, Sendable {
        /// The configuration file and the line of `global maxconn`.
        public var file: String
        public var line: Int
        public var maxConnections: Int
        public var needed: Int
        public var hardLimit: Int

        public var description: String {
            "\(file):\(line): 'maxconn': \(maxConnections) connections need \(needed) descriptors and the limit is "
                + "\(hardLimit); lower 'maxconn' to at most \(max(1, (hardLimit - (needed - 2 * maxConnections)) / 2)), "
                + "or raise the descriptor limit (LimitNOFILE= in the unit, as HAProxy's packages do)"
        }
    }

    /// Applies the rule to `configuration` with this process's `RLIMIT_NOFILE`: fills in a missing `global
    /// maxconn`, or raises the soft limit for the configured one. Throws when the hard limit is too low.
    /// `dryRun` (the config check) changes no limit: it only says whether the engine could start.
    public static func apply(
        to configuration: inout ProxyConfiguration,
        file: String,
        eventLoops: Int,
        dryRun: Bool = false
    ) throws(Shortfall) -> Outcome {
        var limits = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limits) == 0 else { return .fits }
        let soft = Self.clamp(limits.rlim_cur)
        let hard = Self.clamp(limits.rlim_max)
        let listeners = configuration.frontends.reduce(0) { $0 + $1.binds.count }
        let checked = configuration.backends.reduce(0) { total, backend in
            total + backend.servers.filter(\.check).count
        }
        let reserve = Self.reserve(listeners: listeners, eventLoops: eventLoops, checkedServers: checked)
        guard let maxConnections = configuration.maxConnections else {
            let derived = defaultMaxConnections(descriptorLimit: soft, reserve: reserve)
            configuration.maxConnections = derived
            return .derived(maxConnections: derived, descriptorLimit: soft)
        }
        let needed = Self.needed(maxConnections: maxConnections, reserve: reserve)
        if needed <= soft { return .fits }
        guard needed <= hard else {
            throw Shortfall(
                file: file,
                line: configuration.maxConnectionsLine ?? 0,
                maxConnections: maxConnections,
                needed: needed,
                hardLimit: hard
            )
        }
        if dryRun { return .raised(to: needed) }
        limits.rlim_cur = rlim_t(needed)
        guard setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limits) == 0 else {
            // Not allowed to raise it: what can be used is the soft limit.
            throw Shortfall(
                file: file,
                line: configuration.maxConnectionsLine ?? 0,
                maxConnections: maxConnections,
                needed: needed,
                hardLimit: soft
            )
        }
        return .raised(to: needed)
    }

    private static func clamp(_ value: rlim_t) -> Int {
        // RLIM_INFINITY is all ones.
        value > rlim_t(Int32.max) ? Int(Int32.max) : Int(value)
    }
}
