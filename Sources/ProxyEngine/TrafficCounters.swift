import NIOCore
import Synchronization

/// Counters of one frontend or one server, shared by every event loop (relaxed atomics: each is a
/// monotonic count or a gauge read for stats, never used to order anything).
final class TrafficCounters: Sendable {
    /// Connections (frontend) or requests/connections (server) open now.
    let current = Atomic<Int>(0)
    /// Connections (frontend) or requests/connections (server) since start.
    let total = Atomic<Int>(0)
    /// Bytes read from the peer: from clients for a frontend, from the server for a server.
    let bytesIn = Atomic<Int>(0)
    /// Bytes written to the peer.
    let bytesOut = Atomic<Int>(0)
    /// HTTP requests (frontend).
    let requests = Atomic<Int>(0)
    /// Requests refused or failed: a bad request, no server, a failed connection or response.
    let errors = Atomic<Int>(0)

    /// A consistent-enough copy for stats (each field read once).
    var snapshot: TrafficSnapshot {
        TrafficSnapshot(
            current: current.load(ordering: .relaxed),
            total: total.load(ordering: .relaxed),
            bytesIn: bytesIn.load(ordering: .relaxed),
            bytesOut: bytesOut.load(ordering: .relaxed),
            requests: requests.load(ordering: .relaxed),
            errors: errors.load(ordering: .relaxed)
        )
    }

    func failed() { errors.add(1, ordering: .relaxed) }

    func opened() {
        current.add(1, ordering: .relaxed)
        total.add(1, ordering: .relaxed)
    }

    func closed() { current.subtract(1, ordering: .relaxed) }
}

/// The values of a `TrafficCounters` at one moment.
struct TrafficSnapshot: Sendable, Hashable {
    var current: Int
    var total: Int
    var bytesIn: Int
    var bytesOut: Int
    var requests: Int
    var errors: Int
}
