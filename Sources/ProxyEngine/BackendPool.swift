import Logging
import ProxyConfig
import Synchronization

/// The servers of one backend with their health and load; picks a server for each new connection.
/// Shared by every event loop of the engine, so its state is behind a lock.
final class BackendPool: Sendable {
    struct ServerState: Sendable {
        var up = true
        /// Consecutive check results in the direction of a change (towards `rise` or `fall`).
        var streak = 0
        var active = 0
        var total = 0
        var currentWeight = 0
        var lastCheck = "not checked yet"
        var checked = false
        /// When `up` last changed (or the engine started).
        var lastChange = ContinuousClock.now
        /// When the last check finished.
        var lastCheckAt: ContinuousClock.Instant?
    }

    let backend: Backend
    let logger: Logger
    private let states: Mutex<[ServerState]>
    /// Bytes and errors per server, by index.
    let traffic: [TrafficCounters]
    /// Requests or connections that found no server.
    let unavailable = Atomic<Int>(0)
    /// Each server's `host:port` (the Host sent for an HTTP/1.0 request without one), formatted once.
    let authorities: [String]

    init(backend: Backend, logger: Logger) {
        self.backend = backend
        self.logger = logger
        self.states = Mutex(Array(repeating: ServerState(), count: backend.servers.count))
        self.traffic = backend.servers.map { _ in TrafficCounters() }
        self.authorities = backend.servers.map { BindAddress(host: $0.address, port: $0.port).description }
    }

    /// The index of the server whose `cookie` value is `value`.
    func server(cookie value: String) -> Int? {
        backend.servers.firstIndex { $0.cookie == value }
    }

    /// A snapshot for stats and tests.
    var snapshot: [ServerState] { states.withLock { $0 } }

    /// Whether every checked server has had its first check.
    var firstChecksDone: Bool {
        states.withLock { states in
            zip(backend.servers, states).allSatisfy { server, state in !server.check || state.checked }
        }
    }

    /// Chooses a server for a client, skipping `excluded` (servers already tried for this connection).
    /// Backup servers serve only while no other server is up. Returns the server's index.
    /// A `preferred` server (a sticky cookie's) is chosen when it can serve; else the algorithm picks.
    func pick(client: String?, excluding excluded: Set<Int> = [], preferred: Int? = nil) -> Int? {
        states.withLock { states in
            let servers = backend.servers
            if let preferred, servers.indices.contains(preferred), !excluded.contains(preferred),
                states[preferred].up, !servers[preferred].disabled,
                servers[preferred].maxConnections.map({ states[preferred].active < $0 }) ?? true
            {
                states[preferred].active += 1
                states[preferred].total += 1
                return preferred
            }
            // No array per pick: the candidates are the indices that pass `eligible`, walked in place.
            func eligible(_ index: Int, _ backup: Bool) -> Bool {
                let server = servers[index]
                return server.backup == backup && !server.disabled && server.weight > 0 && states[index].up
                    && !excluded.contains(index)
                    && (server.maxConnections.map { states[index].active < $0 } ?? true)
            }
            var backup = false
            var count = servers.indices.reduce(0) { $0 + (eligible($1, false) ? 1 : 0) }
            if count == 0
                && !servers.indices.contains(where: { !servers[$0].backup && states[$0].up && !servers[$0].disabled })
            {
                backup = true
                count = servers.indices.reduce(0) { $0 + (eligible($1, true) ? 1 : 0) }
            }
            guard count > 0 else {
                unavailable.add(1, ordering: .relaxed)
                return nil
            }
            var chosen = -1
            switch backend.balance {
            case .roundrobin:
                // Smooth weighted round robin: every candidate gains its weight, the richest (the first of
                // equals) is chosen and pays the total.
                var total = 0
                for index in servers.indices where eligible(index, backup) {
                    total += servers[index].weight
                    states[index].currentWeight += servers[index].weight
                    if chosen < 0 || states[index].currentWeight > states[chosen].currentWeight { chosen = index }
                }
                states[chosen].currentWeight -= total
            case .leastconn:
                // The fewest active connections per unit of weight; the first of equals.
                for index in servers.indices where eligible(index, backup) {
                    if chosen < 0
                        || states[index].active * servers[chosen].weight < states[chosen].active * servers[index].weight
                    {
                        chosen = index
                    }
                }
            case .source:
                var hash: UInt64 = 14_695_981_039_346_656_037
                for byte in (client ?? "").utf8 { hash = (hash ^ UInt64(byte)) &* 1_099_511_628_211 }
                var remaining = Int(hash % UInt64(count))
                for index in servers.indices where eligible(index, backup) {
                    if remaining == 0 {
                        chosen = index
                        break
                    }
                    remaining -= 1
                }
            case .first:
                chosen = servers.indices.first { eligible($0, backup) }!
            }
            states[chosen].active += 1
            states[chosen].total += 1
            return chosen
        }
    }

    /// A connection to server `index` ended (or never got going).
    func release(_ index: Int) {
        states.withLock { $0[index].active = max(0, $0[index].active - 1) }
    }

    /// Records one health-check result; logs and returns the new state when the server changed state.
    @discardableResult
    func record(check ok: Bool, server index: Int, detail: String) -> Bool? {
        let server = backend.servers[index]
        let change: Bool? = states.withLock { states in
            var state = states[index]
            state.lastCheck = detail
            state.lastCheckAt = .now
            defer { states[index] = state }
            if !state.checked {
                // The first check decides at once, so the engine knows its farm before it says it is ready.
                state.checked = true
                state.streak = 0
                if state.up != ok {
                    state.up = ok
                    state.lastChange = .now
                    return ok
                }
                return nil
            }
            if ok == state.up {
                state.streak = 0
                return nil
            }
            state.streak += 1
            if state.streak >= (ok ? server.rise : server.fall) {
                state.up = ok
                state.lastChange = .now
                state.streak = 0
                return ok
            }
            return nil
        }
        if let change {
            let level: Logger.Level = change ? .notice : .warning
            logger.log(
                level: level,
                "server \(change ? "UP" : "DOWN")",
                metadata: [
                    "backend": "\(backend.name)", "server": "\(server.name)", "reason": "\(detail)",
                    "active_servers": "\(snapshot.filter(\.up).count)/\(backend.servers.count)",
                ]
            )
        }
        return change
    }
}
