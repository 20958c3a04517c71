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
    /// A `Duration` as a `TimeAmount` (nanosecond precision).
    static func of(_ duration: Duration) -> TimeAmount {
        .nanoseconds(duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000)
    }
}

/// Whether an engine is draining (shared by its connections).
final class DrainFlag: Sendable {
    private let flag = Atomic<Bool>(false)
    var isSet: Bool { flag.load(ordering: .relaxed) }
    func set() { flag.store(true, ordering: .relaxed) }
}
