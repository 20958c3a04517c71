import ProxyConfig
import Synchronization

/// One line of the stats: a frontend, a backend or a server, with HAProxy's meanings (`scur`, `stot`,
/// `bin`, `bout`, …).
struct StatsRow: Sendable, Hashable, Codable {
    enum Kind: String, Sendable, Codable {
        case frontend
        case backend
        case server
    }

    var proxy: String
    var name: String
    var kind: Kind
    var mode: String
    /// `OPEN` (frontend), `UP`/`DOWN` (backend and checked servers), `MAINT` (disabled), `no check`.
    var status: String
    /// Connections (frontend) or requests being served (backend, server) now.
    var current: Int
    /// The same since the engine started.
    var total: Int
    /// HTTP requests (frontend).
    var requests: Int
    var bytesIn: Int
    var bytesOut: Int
    /// Refused or failed: bad requests and local answers (frontend), failed connections and responses and
    /// requests that found no server (backend, server).
    var errors: Int
    var weight: Int
    var backup: Bool
    /// The last check's result, and how long ago it ran.
    var lastCheck: String
    var lastCheckSeconds: Int?
    /// Seconds since the status last changed (servers), or since start.
    var lastChangeSeconds: Int
}

/// Collects the rows of every frontend, backend and server of one engine.
final class StatsSource: Sendable {
    let frontends: [(Frontend, TrafficCounters)]
    let pools: [BackendPool]
    let started = ContinuousClock.now

    init(frontends: [(Frontend, TrafficCounters)], pools: [BackendPool]) {
        self.frontends = frontends
        self.pools = pools
    }

    /// Every row now, frontends first, then each backend followed by its servers.
    func rows() -> [StatsRow] {
        let now = ContinuousClock.now
        func seconds(_ since: ContinuousClock.Instant) -> Int { Int((now - since).components.seconds) }
        var rows: [StatsRow] = []
        for (frontend, counters) in frontends {
            let traffic = counters.snapshot
            rows.append(
                StatsRow(
                    proxy: frontend.name,
                    name: "FRONTEND",
                    kind: .frontend,
                    mode: frontend.mode.rawValue,
                    status: "OPEN",
                    current: traffic.current,
                    total: traffic.total,
                    requests: traffic.requests,
                    bytesIn: traffic.bytesIn,
                    bytesOut: traffic.bytesOut,
                    errors: traffic.errors,
                    weight: 0,
                    backup: false,
                    lastCheck: "",
                    lastCheckSeconds: nil,
                    lastChangeSeconds: seconds(started)
                )
            )
        }
        for pool in pools {
            let backend = pool.backend
            let states = pool.snapshot
            var serverRows: [StatsRow] = []
            for (index, server) in backend.servers.enumerated() {
                let state = states[index]
                let traffic = pool.traffic[index].snapshot
                let status = server.disabled ? "MAINT" : !server.check ? "no check" : state.up ? "UP" : "DOWN"
                serverRows.append(
                    StatsRow(
                        proxy: backend.name,
                        name: server.name,
                        kind: .server,
                        mode: backend.mode.rawValue,
                        status: status,
                        current: state.active,
                        total: state.total,
                        requests: 0,
                        // In HAProxy's sense: "in" is the request direction (what the engine sent to the
                        // server), "out" the response direction.
                        bytesIn: traffic.bytesOut,
                        bytesOut: traffic.bytesIn,
                        errors: traffic.errors,
                        weight: server.weight,
                        backup: server.backup,
                        lastCheck: server.check ? state.lastCheck : "",
                        lastCheckSeconds: state.lastCheckAt.map(seconds),
                        lastChangeSeconds: seconds(state.lastChange)
                    )
                )
            }
            let serving = zip(backend.servers, states).contains { server, state in !server.disabled && state.up }
            rows.append(
                StatsRow(
                    proxy: backend.name,
                    name: "BACKEND",
                    kind: .backend,
                    mode: backend.mode.rawValue,
                    status: serving ? "UP" : "DOWN",
                    current: serverRows.reduce(0) { $0 + $1.current },
                    total: serverRows.reduce(0) { $0 + $1.total },
                    requests: 0,
                    bytesIn: serverRows.reduce(0) { $0 + $1.bytesIn },
                    bytesOut: serverRows.reduce(0) { $0 + $1.bytesOut },
                    errors: serverRows.reduce(0) { $0 + $1.errors } + pool.unavailable.load(ordering: .relaxed),
                    weight: backend.servers.reduce(0) { $0 + ($1.backup ? 0 : $1.weight) },
                    backup: false,
                    lastCheck: "",
                    lastCheckSeconds: nil,
                    lastChangeSeconds: serverRows.map(\.lastChangeSeconds).min() ?? seconds(started)
                )
            )
            rows += serverRows
        }
        return rows
    }
}
