import Logging
import ProxyConfig
import Synchronization

/// The servers of one backend with their health and load; picks a server for each new connection.
/// Shared by every event loop of the engine, so its state is behind a lock.
final class BackendPool: Sendable {
    struct ServerState: Sendable {
        var up = true
        /// HAProxy's check health: from 0 (down) to rise + fall - 1 (up and steady); a server is up from
        /// `rise` on. It starts at `rise`, so the first failed check takes the server down.
        var health = 0
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
        self.states = Mutex(
            backend.servers.map { server in
                var state = ServerState()
                state.health = server.rise
                return state
            }
        )
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

    /// The time to wait before the next check of server `index`, as HAProxy chooses it: `inter` while the
    /// server is up and steady, `downinter` while it is down and steady, `fastinter` in between (each
    /// defaults to `inter`).
    func nextCheckDelay(server index: Int) -> Duration {
        let server = backend.servers[index]
        let health = states.withLock { $0[index].health }
        if health == server.rise + server.fall - 1 { return server.interval }
        if health == 0 { return server.downInterval ?? server.interval }
        return server.fastInterval ?? server.interval
    }

    /// Records one health-check result with HAProxy's counter (check.c): a pass adds one to the health up to
    /// rise + fall - 1, and reaching `rise` makes it that maximum; a failure takes one off, and falling
    /// below `rise` makes it 0. So an up server goes down after `fall` failures more than passes, and a
    /// down server comes up after `rise` passes in a row. Logs and returns the new state when the server
    /// changed state.
    @discardableResult
    func record(check ok: Bool, server index: Int, detail: String) -> Bool? {
        let server = backend.servers[index]
        let change: Bool? = states.withLock { states in
            var state = states[index]
            state.lastCheck = detail
            state.lastCheckAt = .now
            state.checked = true
            let maximum = server.rise + server.fall - 1
            if ok {
                if state.health < maximum {
                    state.health += 1
                    if state.health >= server.rise { state.health = maximum }
                }
            } else if state.health > 0 {
                state.health -= 1
                if state.health < server.rise { state.health = 0 }
            }
            let up = state.health >= server.rise
            defer { states[index] = state }
            guard up != state.up else { return nil }
            state.up = up
            state.lastChange = .now
            return up
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
