import Logging
import NIOCore
import NIOPosix
import ProxyConfig
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Why the engine cannot serve a configuration.
public struct ProxyEngineError: Error, CustomStringConvertible {
    public let description: String
}

/// The embedded load balancer: binds every frontend, balances TCP connections or HTTP requests over the
/// backends' healthy servers, runs their health checks and serves the stats page (docs/proxy-engine.md).
public final class ProxyEngine: Sendable {
    let configuration: ProxyConfiguration
    let group: any EventLoopGroup
    let logger: Logger
    let pools: [String: BackendPool]
    /// Per frontend, in file order.
    let frontendCounters: [TrafficCounters]
    let statsSource: StatsSource
    let connections: UpstreamConnections
    let sockets: ListeningSockets
    /// Whether the engine made its own sockets (and so closes them when it stops).
    let ownsSockets: Bool
    let draining = DrainFlag()
    /// `global maxconn`, over every frontend.
    let globalLimit: ConnectionLimiter?
    /// Each frontend's `maxconn`, in file order.
    let frontendLimits: [ConnectionLimiter?]

    /// Creates an engine for a parsed configuration. Engines that replace one another on reload share
    /// `sockets`, so they accept from the same listening sockets.
    public init(
        configuration: ProxyConfiguration,
        group: any EventLoopGroup,
        logger: Logger,
        sockets: ListeningSockets? = nil
    ) throws {
        self.configuration = configuration
        self.sockets = sockets ?? ListeningSockets()
        self.ownsSockets = sockets == nil
        self.group = group
        self.logger = logger
        var pools: [String: BackendPool] = [:]
        for backend in configuration.backends { pools[backend.name] = BackendPool(backend: backend, logger: logger) }
        self.pools = pools
        frontendCounters = configuration.frontends.map { _ in TrafficCounters() }
        globalLimit = configuration.maxConnections.map(ConnectionLimiter.init)
        frontendLimits = configuration.frontends.map { $0.maxConnections.map(ConnectionLimiter.init) }
        statsSource = StatsSource(
            frontends: Array(zip(configuration.frontends, frontendCounters)),
            pools: configuration.backends.compactMap { pools[$0.name] }
        )
        connections = UpstreamConnections(group: group)
    }

    /// Every address the configuration listens on.
    public var bindAddresses: Set<BindAddress> { Set(configuration.frontends.flatMap(\.binds)) }

    /// The stats rows as CSV (HAProxy's `show stat` shape, documented columns).
    public var statsCSV: String { StatsReporter.csv(statsSource.rows()) }

    /// The pool of a backend (for stats and tests).
    func pool(_ name: String) -> BackendPool? { pools[name] }

    /// Client connections open on the engine, and requests or connections open to servers, right now.
    public var activeConnections: Int {
        let clients = frontendCounters.reduce(0) { $0 + $1.current.load(ordering: .relaxed) }
        let servers = pools.values.reduce(0) { total, pool in total + pool.snapshot.reduce(0) { $0 + $1.active } }
        return max(clients, servers)
    }

    /// Binds every frontend, then serves and checks until cancelled. `ready` is called once every listener is
    /// bound and the first round of checks is done. On cancellation the listeners close at once and open
    /// connections get up to `drain` to finish (SIGTERM drains); `failover-agent proxy` then exits, which cuts
    /// whatever is still open.
    public func run(drain: Duration = .seconds(10), ready: @Sendable @escaping () -> Void = {}) async throws {
        var listeners: [any Channel] = []
        do {
            for (index, frontend) in configuration.frontends.enumerated() {
                for bind in frontend.binds {
                    let limits = [globalLimit, frontendLimits[index]].compactMap { $0 }
                    let listener = try await listen(frontend, bind, counters: frontendCounters[index], limits: limits)
                    listeners.append(listener)
                }
            }
        } catch {
            for channel in listeners { try? await channel.close() }
            if ownsSockets { sockets.keep(only: []) }
            throw error
        }
        logger.notice("listening", metadata: ["listeners": "\(listeners.count)"])
        let pools = Array(self.pools.values)
        let group = self.group
        await withTaskGroup(of: Void.self) { tasks in
            for pool in pools {
                tasks.addTask { await HealthChecker(pool: pool, group: group).run() }
            }
            tasks.addTask {
                // Ready once every backend's first checks are in (bounded: a check never outlives its timeout).
                while !Task.isCancelled && !pools.allSatisfy(\.firstChecksDone) {
                    try? await Task.sleep(for: .milliseconds(10))
                }
                if !Task.isCancelled { ready() }
            }
            while !Task.isCancelled { try? await Task.sleep(for: .seconds(3_600)) }
            tasks.cancelAll()
        }
        draining.set()
        for limit in [globalLimit] + frontendLimits { limit?.stop() }
        // Stop accepting first and let connections already accepted finish setting up, then close: closing a
        // listener in the middle of an accept can drop the connection being accepted.
        for channel in listeners { try? await channel.setOption(.autoRead, value: false).get() }
        await Self.pause(.milliseconds(50))
        for channel in listeners { try? await channel.close() }
        if ownsSockets { sockets.keep(only: []) }
        let deadline = ContinuousClock.now + drain
        let open = activeConnections
        if open > 0 { logger.notice("draining", metadata: ["connections": "\(open)", "timeout": "\(drain)"]) }
        // Bounded: at most `drain`, checked every 20 ms (the task is cancelled, so sleep with a clock deadline).
        while activeConnections > 0 && ContinuousClock.now < deadline {
            await Self.pause(.milliseconds(20))
        }
        if activeConnections > 0 {
            logger.warning(
                "drain timeout: closing the remaining connections",
                metadata: ["connections": "\(activeConnections)"]
            )
        }
    }

    /// Waits even in a cancelled task (`Task.sleep` returns at once there).
    private static func pause(_ length: Duration) async {
        await withCheckedContinuation { continuation in
            MultiThreadedEventLoopGroup.singleton.next().scheduleTask(
                in: .nanoseconds(
                    Int64(length.components.attoseconds / 1_000_000_000) + length.components.seconds * 1_000_000_000
                )
            ) {
                continuation.resume()
            }
        }
    }

    private func listen(
        _ frontend: Frontend,
        _ bind: BindAddress,
        counters: TrafficCounters,
        limits: [ConnectionLimiter]
    ) async throws
        -> any Channel
    {
        let router = RequestRouter(frontend: frontend)
        let pools = self.pools
        let logger = self.logger
        let limit = frontend.maxConnections ?? configuration.maxConnections
        let connectTimeout = frontend.timeouts.connect
        var stats: StatsReporter?
        if frontend.mode == .http {
            if let settings = frontend.stats {
                stats = StatsReporter(settings: settings, source: statsSource, holder: frontend.name)
            } else if let backend = frontend.defaultBackend.flatMap({ pools[$0]?.backend }),
                let settings = backend.stats
            {
                stats = StatsReporter(settings: settings, source: statsSource, holder: backend.name)
            }
        }
        let site = HTTPSite(
            frontend: frontend,
            router: router,
            pools: pools,
            forwarding: pools.compactMapValues {
                ForwardedHeader(frontend: frontend.forwardFor, backend: $0.backend.forwardFor)
            },
            connections: connections,
            counters: counters,
            stats: stats,
            draining: draining,
            logger: logger
        )
        do {
            let descriptor = try sockets.descriptor(for: bind)
            // Up to 64 connections accepted per wake-up (HAProxy's tune.maxaccept) instead of NIO's 4.
            let channel = try await ServerBootstrap(group: group)
                .serverChannelOption(.maxMessagesPerRead, value: 64)
                .serverChannelInitializer { listener in
                    listener.eventLoop.makeCompletedFuture {
                        // An accept failing with EMFILE/ENFILE backs off for a second instead of failing again at
                        // once (NIO adds this handler only on its own bind paths, not to an adopted socket).
                        try listener.pipeline.syncOperations.addHandler(AcceptBackoffHandler())
                        guard !limits.isEmpty else { return }
                        let gate = AcceptGate(limits: limits)
                        try listener.pipeline.syncOperations.addHandler(gate)
                        let handle = gate.handle(on: listener.eventLoop)
                        for limit in limits { limit.govern(handle) }
                    }
                }
                .childChannelOption(.autoRead, value: frontend.mode == .http)
                .childChannelOption(.allowRemoteHalfClosure, value: true)
                .childChannelOption(.socketOption(.so_keepalive), value: 1)
                .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
                .childChannelInitializer { client in
                    client.eventLoop.makeCompletedFuture {
                        let operations = client.pipeline.syncOperations
                        if frontend.mode == .http {
                            // The frontend handler reads and writes bytes: it parses heads itself and counts
                            // the bytes (one handler, no HTTP codec in between).
                            try operations.addHandler(
                                HTTPFrontendHandler(site: site, clientAddress: client.remoteAddress)
                            )
                            return
                        }
                        counters.opened()
                        client.closeFuture.whenComplete { _ in counters.closed() }
                        let facts = RequestFacts(source: RequestRouter.rawBytes(client.remoteAddress))
                        let pool = router.backend(for: facts).flatMap { pools[$0] }
                        let connector = pool.map { pool in
                            Connector(
                                pool: pool,
                                client: client,
                                clientCounters: counters,
                                source: client.remoteAddress?.ipAddress,
                                connectTimeout: pool.backend.timeouts.connect ?? connectTimeout ?? .seconds(5),
                                queueTimeout: pool.backend.timeouts.queue ?? pool.backend.timeouts.connect
                                    ?? connectTimeout ?? .seconds(5),
                                clientTimeout: frontend.timeouts.client,
                                logger: logger
                            )
                        }
                        // The server is chosen once the client channel is active (closing or connecting from
                        // inside the initializer races the channel's own activation).
                        try operations.addHandler(
                            EarlyInputRecorder {
                                guard let connector else {
                                    counters.failed()
                                    client.close(promise: nil)
                                    return
                                }
                                connector.connect()
                            }
                        )
                    }
                }
                .withBoundSocket(descriptor)
                .get()
            // NIO listens again on an adopted socket with its default backlog, 128 (its backlog option only
            // applies to sockets it binds): a burst of connections then overflows the accept queue, and each
            // dropped SYN costs the client a 1 s retransmit (bench-proxy.sh with 1 000 connections: p99 1.1 s).
            // As HAProxy does, the backlog is the frontend's maxconn, at least 1 024 (the kernel caps it at
            // net.core.somaxconn); listening again on a listening socket only changes its backlog.
            let backlog = Int32(clamping: min(max(limit ?? 0, 1_024), 65_535))
            if Glibc.listen(descriptor, backlog) != 0 {
                logger.warning(
                    "cannot raise the listen backlog",
                    metadata: ["bind": "\(bind)", "backlog": "\(backlog)", "errno": "\(errno)"]
                )
            }
            return channel
        } catch let error as ProxyEngineError {
            throw ProxyEngineError(description: "frontend '\(frontend.name)' (line \(frontend.line)): \(error)")
        } catch {
            throw ProxyEngineError(
                description: "frontend '\(frontend.name)' (line \(frontend.line)): cannot bind \(bind): \(error)"
            )
        }
    }

}

/// Connects one client to a server of the pool, trying the next server on failure (`retries`), then glues
/// the two connections together.
private struct Connector: Sendable {
    let pool: BackendPool
    let client: any Channel
    /// The frontend's counters (the glue counts the client's bytes; TCP mode has no counting handler).
    let clientCounters: TrafficCounters
    let source: String?
    let connectTimeout: Duration
    /// `timeout queue`, else `timeout connect`: how long a connection waits for a server slot.
    let queueTimeout: Duration
    /// `timeout client`: the client's connection closes after this long without traffic.
    let clientTimeout: Duration?
    let logger: Logger

    func connect() {
        let client = self.client
        let pool = self.pool
        switch pool.acquire(
            client: source,
            preferred: nil,
            delivery: {
                { index in
                    client.eventLoop.execute {
                        // A slot that comes after the client left is given back.
                        if client.isActive { self.start(index, attempt: 0, tried: []) } else { pool.release(index) }
                    }
                }
            }
        ) {
        case .server(let index):
            start(index, attempt: 0, tried: [])
        case .queued(let ticket):
            // Every server that could serve is at its maxconn: wait, as HAProxy does, up to the timeout.
            client.closeFuture.whenComplete { _ in _ = pool.cancel(ticket: ticket) }
            client.eventLoop.scheduleTask(in: TimeAmount.of(queueTimeout)) {
                if pool.cancel(ticket: ticket) { client.close(promise: nil) }
            }
        case .unavailable:
            noServer(0)
        }
    }

    /// After the connection to `failed` failed (`attempt` retries made so far): HAProxy's retry (the same
    /// server; the last one elsewhere with `option redispatch`) after its turn-around, min(timeout connect,
    /// 1 s), or the end.
    private func retry(after failed: Int, attempt: Int, tried: Set<Int>) {
        guard let index = pool.retryTarget(after: failed, attempt: attempt + 1, tried: tried, client: source) else {
            noServer(attempt)
            return
        }
        client.eventLoop.scheduleTask(in: TimeAmount.of(BackendPool.retryDelay(connectTimeout: connectTimeout))) {
            guard self.client.isActive else {
                self.pool.release(index)
                return
            }
            self.start(index, attempt: attempt + 1, tried: tried)
        }
    }

    private func noServer(_ retries: Int) {
        logger.warning("no server available", metadata: ["backend": "\(pool.backend.name)", "retries": "\(retries)"])
        client.close(promise: nil)
    }

    private func start(_ index: Int, attempt: Int, tried: Set<Int>) {
        let server = pool.backend.servers[index]
        let milliseconds =
            connectTimeout.components.seconds * 1_000 + connectTimeout.components.attoseconds / 1_000_000_000_000_000
        ClientBootstrap(group: client.eventLoop)
            .connectTimeout(.milliseconds(milliseconds))
            .channelOption(.autoRead, value: false)
            .channelOption(.allowRemoteHalfClosure, value: true)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    // A server may answer and close before the glue is attached (the same as a client).
                    try channel.pipeline.syncOperations.addHandler(EarlyInputRecorder(onActive: nil))
                }
            }
            .connect(host: server.address, port: server.port)
            .whenComplete { result in
                switch result {
                case .success(let upstream):
                    let client = self.client
                    let pool = self.pool
                    upstream.closeFuture.whenComplete { _ in pool.release(index) }
                    // Both connections live on the client's event loop (the bootstrap used it), so the glue is
                    // set up synchronously, here.
                    do {
                        guard client.isActive else {
                            // The client left while the engine was connecting.
                            upstream.close(promise: nil)
                            return
                        }
                        let (clientSide, serverSide) = GlueHandler.matchedPair(
                            // `timeout tunnel` replaces both once the connection is set up (HAProxy).
                            counting: self.clientCounters,
                            idle: (pool.backend.timeouts.tunnel ?? self.clientTimeout).map(TimeAmount.of),
                            and: pool.traffic[index],
                            idle: (pool.backend.timeouts.tunnel ?? pool.backend.timeouts.server).map(TimeAmount.of)
                        )
                        let operations = client.pipeline.syncOperations
                        try operations.addHandler(clientSide)
                        try upstream.pipeline.syncOperations.addHandler(serverSide)
                        for pipeline in [operations, upstream.pipeline.syncOperations] {
                            if let recorder = try? pipeline.handler(type: EarlyInputRecorder.self) {
                                recorder.replay(try pipeline.context(handler: recorder))
                            }
                        }
                        client.setOption(.autoRead, value: true).whenComplete { _ in }
                        upstream.setOption(.autoRead, value: true).whenComplete { _ in }
                    } catch {
                        upstream.close(promise: nil)
                        client.close(promise: nil)
                    }
                case .failure(let error):
                    pool.release(index)
                    pool.traffic[index].failed()
                    logger.info(
                        "connect to server failed; trying the next",
                        metadata: ["backend": "\(pool.backend.name)", "server": "\(server.name)", "error": "\(error)"]
                    )
                    retry(after: index, attempt: attempt, tried: tried.union([index]))
                }
            }
    }
}
