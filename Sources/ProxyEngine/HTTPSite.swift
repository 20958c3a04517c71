import Logging
import NIOCore
import ProxyConfig
import Synchronization

/// What every connection of one HTTP frontend shares: its configuration, routing, the backends' pools,
/// idle server connections, counters and the stats page.
struct HTTPSite: Sendable {
    let frontend: Frontend
    let router: RequestRouter
    let pools: [String: BackendPool]
    /// `option forwardfor` resolved for this frontend and each backend (by name) that adds a header.
    let forwarding: [String: ForwardedHeader]
    let connections: UpstreamConnections
    let counters: TrafficCounters
    let stats: StatsReporter?
    /// Set when the engine stops: responses then end their connection (`Connection: close`), so clients
    /// move to the new engine between requests and none is cut mid-request.
    let draining: DrainFlag
    let logger: Logger

    /// How long a client has to send a complete request head.
    var requestTimeout: TimeAmount { .of(frontend.timeouts.httpRequest ?? frontend.timeouts.client ?? .seconds(30)) }
    /// How long an idle keep-alive client connection stays open between requests.
    var keepAliveTimeout: TimeAmount {
        .of(
            frontend.timeouts.httpKeepAlive ?? frontend.timeouts.httpRequest ?? frontend.timeouts.client ?? .seconds(30)
        )
    }
}

extension TimeAmount {
    /// A `Duration` as a `TimeAmount` (nanosecond precision), saturating at the largest amount (the parser
    /// bounds times at HAProxy's 2147483647 ms, far below it).
    static func of(_ duration: Duration) -> TimeAmount {
        let (seconds, overflow) = duration.components.seconds.multipliedReportingOverflow(by: 1_000_000_000)
        guard !overflow else { return .nanoseconds(duration < .zero ? .min : .max) }
        let (total, sumOverflow) = seconds.addingReportingOverflow(duration.components.attoseconds / 1_000_000_000)
        return .nanoseconds(sumOverflow ? (duration < .zero ? .min : .max) : total)
    }
}

/// Whether an engine is draining (shared by its connections).
final class DrainFlag: Sendable {
    private let flag = Atomic<Bool>(false)
    var isSet: Bool { flag.load(ordering: .relaxed) }
    func set() { flag.store(true, ordering: .relaxed) }
}
