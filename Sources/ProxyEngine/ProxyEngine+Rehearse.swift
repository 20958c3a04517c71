import Logging
import NIOCore
import ProxyConfig

extension ProxyEngine {
    /// Builds everything the engine derives from a configuration, without sockets or event loops: each
    /// frontend's router, forwarding rule and timers, each backend's pool with its check delays, every
    /// timeout as the event loops take it. A configuration the parser accepts must pass this without a trap
    /// (the `proxyconfig` fuzz target runs it on every accepted input). Returns how many objects it built.
    public static func rehearse(_ configuration: ProxyConfiguration) -> Int {
        let logger = Logger(label: "rehearsal", factory: { _ in SwiftLogNoOpLogHandler() })
        var built = 0
        var pools: [String: BackendPool] = [:]
        for backend in configuration.backends {
            let pool = BackendPool(backend: backend, logger: logger)
            pools[backend.name] = pool
            for index in backend.servers.indices {
                _ = TimeAmount.of(pool.nextCheckDelay(server: index))
                _ = TimeAmount.of(backend.timeouts.check ?? backend.servers[index].interval)
                pool.record(check: false, server: index, detail: "rehearsal")
                _ = TimeAmount.of(pool.nextCheckDelay(server: index))
                pool.record(check: true, server: index, detail: "rehearsal")
                built += 1
            }
            for timeout in [
                backend.timeouts.connect, backend.timeouts.server, backend.timeouts.tunnel, backend.timeouts.queue,
            ] {
                if let timeout { _ = TimeAmount.of(timeout) }
            }
            built += 1
        }
        for frontend in configuration.frontends {
            let router = RequestRouter(frontend: frontend)
            _ = router.backend(for: RequestFacts(path: "/", host: "example.com", source: [127, 0, 0, 1]))
            for pool in pools.values {
                _ = ForwardedHeader(frontend: frontend.forwardFor, backend: pool.backend.forwardFor)
            }
            for timeout in [
                frontend.timeouts.client, frontend.timeouts.httpRequest, frontend.timeouts.httpKeepAlive,
                frontend.timeouts.connect,
            ] {
                if let timeout { _ = TimeAmount.of(timeout) }
            }
            built += 1
        }
        return built
    }
}
