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
    /// Clients waiting for a server slot. Lock order: `queue`, then `states`.
    private let queue = Mutex(WaitQueue())
    /// Bytes and errors per server, by index.
    let traffic: [TrafficCounters]
    /// Requests or connections that found no server.
    let unavailable = Atomic<Int>(0)

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
        let chosen = states.withLock { states in
            choose(&states, client: client, excluding: excluded, preferred: preferred)
        }
        if chosen == nil { unavailable.add(1, ordering: .relaxed) }
        return chosen
    }

    /// `pick` inside the lock, counting nothing when no server can take the client.
    private func choose(
        _ states: inout [ServerState],
        client: String?,
        excluding excluded: Set<Int>,
        preferred: Int?
    ) -> Int? {
        do {
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
            guard count > 0 else { return nil }
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

    /// Takes a slot of server `index` again, for a retry on the same server (HAProxy retries the server it
    /// chose; only `option redispatch` moves the last retry elsewhere).
    func retain(_ index: Int) {
        states.withLock { states in
            states[index].active += 1
            states[index].total += 1
        }
    }

    /// The server for retry number `attempt` (from 1) of a connection that failed on `failed`: the same
    /// server, except on the last retry with `option redispatch`, which picks another (skipping `tried`).
    /// Nil when no retry is left (or no other server can take the redispatch).
    func retryTarget(after failed: Int, attempt: Int, tried: Set<Int>, client: String?) -> Int? {
        guard attempt <= backend.retries else { return nil }
        if backend.redispatch && attempt == backend.retries {
            return pick(client: client, excluding: tried)
        }
        retain(failed)
        return failed
    }

    /// HAProxy's turn-around before a retry: min(`timeout connect`, 1 s).
    static func retryDelay(connectTimeout: Duration) -> Duration { min(connectTimeout, .seconds(1)) }

    /// A connection to server `index` ended (or never got going). Its slot goes to the first waiter.
    func release(_ index: Int) {
        states.withLock { $0[index].active = max(0, $0[index].active - 1) }
        if backend.servers[index].maxConnections != nil { serveQueue() }
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
            // The servers in the rotation changed: round robin starts over among them, so it stays even (the
            // credits of the old rotation gave one server two turns in a row; HAProxy rebuilds its tree too).
            for other in states.indices { states[other].currentWeight = 0 }
            state.currentWeight = 0
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
        // A server that came up takes waiting clients.
        if change == true { serveQueue() }
        return change
    }
}

extension BackendPool {
    /// What `acquire` got.
    enum Acquired: Sendable {
        /// A server's slot, taken.
        case server(Int)
        /// Every server that could serve is at its `maxconn`: the client waits in the backend's queue. The
        /// slot comes through `deliver`; `cancel(ticket)` withdraws the wait.
        case queued(ticket: UInt64)
        /// No server can serve (none up, all disabled).
        case unavailable
    }

    /// A server for a new request or connection, or a place in the queue when every server that could take
    /// it is at its `maxconn` (HAProxy queues there; `timeout queue`, else `timeout connect`, bounds the
    /// wait, which the caller enforces with `cancel`). The delivery is called once, from whichever thread
    /// frees the slot, with the server's index; the caller owns that slot and must `release` it.
    /// `delivery` makes the callback only when the client must wait: the common path allocates nothing.
    func acquire(
        client: String?,
        preferred: Int?,
        delivery makeDeliver: () -> @Sendable (Int) -> Void
    ) -> Acquired {
        let outcome: Acquired = queue.withLock { queue in
            if queue.waiters.isEmpty,
                let index = states.withLock({ choose(&$0, client: client, excluding: [], preferred: preferred) })
            {
                return .server(index)
            }
            guard states.withLock({ anyFull($0) }) else { return .unavailable }
            queue.nextTicket += 1
            queue.waiters.append(Waiter(ticket: queue.nextTicket, client: client, deliver: makeDeliver()))
            return .queued(ticket: queue.nextTicket)
        }
        switch outcome {
        case .unavailable: unavailable.add(1, ordering: .relaxed)
        case .queued: serveQueue()
        case .server: break
        }
        return outcome
    }

    /// Withdraws a wait. False when its slot was already handed out (the delivery is on its way; the
    /// caller must release that slot when it arrives).
    func cancel(ticket: UInt64) -> Bool {
        queue.withLock { queue in
            guard let position = queue.waiters.firstIndex(where: { $0.ticket == ticket }) else { return false }
            queue.waiters.remove(at: position)
            return true
        }
    }

    /// Requests and connections waiting for a slot now.
    var queued: Int { queue.withLock { $0.waiters.count } }

    /// Hands free slots to the waiters, first come first served.
    func serveQueue() {
        var deliveries: [(Waiter, Int)] = []
        queue.withLock { queue in
            while let first = queue.waiters.first,
                let index = states.withLock({ choose(&$0, client: first.client, excluding: [], preferred: nil) })
            {
                queue.waiters.removeFirst()
                deliveries.append((first, index))
            }
        }
        for (waiter, index) in deliveries { waiter.deliver(index) }
    }

    /// Whether a server that could serve is only kept from it by its `maxconn`.
    private func anyFull(_ states: [ServerState]) -> Bool {
        zip(backend.servers, states).contains { server, state in
            !server.disabled && server.weight > 0 && state.up
                && server.maxConnections.map { state.active >= $0 } ?? false
        }
    }
}

/// One request or connection waiting in a backend's queue.
struct Waiter: Sendable {
    let ticket: UInt64
    let client: String?
    let deliver: @Sendable (Int) -> Void
}

/// A backend's queue: waiters in arrival order.
struct WaitQueue: Sendable {
    var waiters: [Waiter] = []
    var nextTicket: UInt64 = 0
}
