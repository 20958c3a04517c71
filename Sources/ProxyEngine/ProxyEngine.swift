import Logging
import NIOCore
import NIOPosix
import ProxyConfig

#if canImport(Glibc)
import Glibc
#endif

/// Why the engine cannot serve a configuration.
public struct ProxyEngineError: Error, CustomStringConvertible {
    public let description: String
}

/// The embedded load balancer: binds every frontend, balances connections over the backends' healthy servers,
/// and runs their health checks. TCP mode today; HTTP mode is the next step (docs/proxy-config.md).
public final class ProxyEngine: Sendable {
    let configuration: ProxyConfiguration
    let group: any EventLoopGroup
    let logger: Logger
    let pools: [String: BackendPool]

    /// Creates an engine; refuses configurations it cannot serve yet, naming the frontend and line.
    public init(configuration: ProxyConfiguration, group: any EventLoopGroup, logger: Logger) throws {
        for frontend in configuration.frontends where frontend.mode == .http {
            throw ProxyEngineError(
                description: "frontend '\(frontend.name)' (line \(frontend.line)) is mode http: the embedded engine "
                    + "serves mode tcp so far; use mode tcp, or engine.kind = \"haproxy\""
            )
        }
        self.configuration = configuration
        self.group = group
        self.logger = logger
        var pools: [String: BackendPool] = [:]
        for backend in configuration.backends { pools[backend.name] = BackendPool(backend: backend, logger: logger) }
        self.pools = pools
    }

    /// The pool of a backend (for stats and tests).
    func pool(_ name: String) -> BackendPool? { pools[name] }

    /// Connections open through the engine right now.
    public var activeConnections: Int {
        pools.values.reduce(0) { total, pool in total + pool.snapshot.reduce(0) { $0 + $1.active } }
    }

    /// Binds every frontend, then serves and checks until cancelled. `ready` is called once every listener is
    /// bound and the first round of checks is done. On cancellation the listeners close at once and open
    /// connections get up to `drain` to finish (SIGTERM drains); `failover-agent proxy` then exits, which cuts
    /// whatever is still open.
    public func run(drain: Duration = .seconds(10), ready: @Sendable @escaping () -> Void = {}) async throws {
        var listeners: [any Channel] = []
        do {
            for frontend in configuration.frontends {
                for bind in frontend.binds {
                    listeners.append(try await listen(frontend, bind))
                }
            }
        } catch {
            for channel in listeners { try? await channel.close() }
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
        for channel in listeners { try? await channel.close() }
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

    private func listen(_ frontend: Frontend, _ bind: BindAddress) async throws -> any Channel {
        let backendName = frontend.defaultBackend
        let pool = backendName.flatMap { pools[$0] }
        let connectTimeout = pool?.backend.timeouts.connect ?? frontend.timeouts.connect ?? .seconds(5)
        let logger = self.logger
        let group = self.group
        do {
            return try await ServerBootstrap(group: group)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                // A reloaded engine binds the same addresses while the old one drains.
                .serverChannelOption(
                    ChannelOptions.Types.SocketOption(
                        level: SocketOptionLevel(SOL_SOCKET),
                        name: SocketOptionName(SO_REUSEPORT)
                    ),
                    value: 1
                )
                .serverChannelOption(.backlog, value: 1_024)
                .childChannelOption(.autoRead, value: false)
                .childChannelOption(.allowRemoteHalfClosure, value: true)
                .childChannelOption(.socketOption(.so_keepalive), value: 1)
                .childChannelInitializer { client in
                    client.eventLoop.makeCompletedFuture {
                        guard let pool else {
                            client.close(promise: nil)
                            return
                        }
                        let source = client.remoteAddress?.ipAddress
                        Connector(
                            pool: pool,
                            client: client,
                            source: source,
                            connectTimeout: connectTimeout,
                            logger: logger
                        )
                        .connect(tried: [])
                    }
                }
                .bind(host: bind.host, port: bind.port)
                .get()
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
    let source: String?
    let connectTimeout: Duration
    let logger: Logger

    func connect(tried: Set<Int>) {
        guard tried.count <= pool.backend.retries, let index = pool.pick(client: source, excluding: tried) else {
            logger.warning(
                "no server available",
                metadata: ["backend": "\(pool.backend.name)", "tried": "\(tried.count)"]
            )
            client.close(promise: nil)
            return
        }
        let server = pool.backend.servers[index]
        let milliseconds =
            connectTimeout.components.seconds * 1_000 + connectTimeout.components.attoseconds / 1_000_000_000_000_000
        ClientBootstrap(group: client.eventLoop)
            .connectTimeout(.milliseconds(milliseconds))
            .channelOption(.autoRead, value: false)
            .channelOption(.allowRemoteHalfClosure, value: true)
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
                        let (clientSide, serverSide) = GlueHandler.matchedPair()
                        try client.pipeline.syncOperations.addHandler(clientSide)
                        try upstream.pipeline.syncOperations.addHandler(serverSide)
                        client.setOption(.autoRead, value: true).whenComplete { _ in }
                        upstream.setOption(.autoRead, value: true).whenComplete { _ in }
                    } catch {
                        upstream.close(promise: nil)
                        client.close(promise: nil)
                    }
                case .failure(let error):
                    pool.release(index)
                    logger.info(
                        "connect to server failed; trying the next",
                        metadata: ["backend": "\(pool.backend.name)", "server": "\(server.name)", "error": "\(error)"]
                    )
                    connect(tried: tried.union([index]))
                }
            }
    }
}
