import Logging
import NIOCore
import NIOPosix
import ProxyConfig

/// Runs the health checks of one backend: a TCP connect, or an HTTP request when `option httpchk` is set,
/// to the server's `addr`/`port` when given, within `timeout check` (else the interval). Results go to the
/// pool, which applies HAProxy's health counter and says when the next check is due (`inter`,
/// `fastinter`, `downinter`).
struct HealthChecker: Sendable {
    let pool: BackendPool
    let group: any EventLoopGroup

    func run() async {
        await withTaskGroup(of: Void.self) { tasks in
            for (index, server) in pool.backend.servers.enumerated() where server.check && !server.disabled {
                tasks.addTask {
                    while !Task.isCancelled {
                        let (ok, detail) = await check(server)
                        pool.record(check: ok, server: index, detail: detail)
                        try? await Task.sleep(for: pool.nextCheckDelay(server: index))
                    }
                }
            }
        }
    }

    func check(_ server: Server) async -> (Bool, String) {
        let timeout = pool.backend.timeouts.check ?? server.interval
        let httpCheck = pool.backend.healthCheck
        let group = self.group
        // The whole check, connect included, races the timeout.
        return await withTaskGroup(of: (Bool, String)?.self) { race in
            race.addTask { await Self.attempt(server, httpCheck, group, timeout) }
            race.addTask {
                try? await Task.sleep(for: timeout)
                return nil
            }
            let first = await race.next() ?? nil
            race.cancelAll()
            return first ?? (false, "no answer within \(timeout)")
        }
    }

    private static func attempt(
        _ server: Server,
        _ httpCheck: HealthCheck?,
        _ group: any EventLoopGroup,
        _ timeout: Duration
    ) async -> (Bool, String) {
        do {
            let channel = try await ClientBootstrap(group: group)
                .connectTimeout(
                    .milliseconds(
                        Int64(
                            timeout.components.seconds * 1_000 + timeout.components.attoseconds / 1_000_000_000_000_000
                        )
                    )
                )
                .connect(host: server.checkAddress ?? server.address, port: server.checkPort ?? server.port) {
                    channel in
                    channel.eventLoop.makeCompletedFuture {
                        try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                    }
                }
            guard let httpCheck else {
                try? await channel.executeThenClose { _, _ in }
                return (true, "TCP connect ok")
            }
            return try await channel.executeThenClose { inbound, outbound in
                try await outbound.write(ByteBuffer(string: httpCheck.request))
                var head = ""
                for try await var chunk in inbound {
                    head += chunk.readString(length: chunk.readableBytes) ?? ""
                    if head.contains("\n") || head.count > 4_096 { break }
                }
                let words = head.prefix { $0 != "\r" && $0 != "\n" }.split(separator: " ")
                guard words.count >= 2, words[0].hasPrefix("HTTP/"), let status = Int(words[1]) else {
                    return (false, "HTTP check: no valid status line")
                }
                return (httpCheck.accepts(status: status), "HTTP check: status \(status)")
            }
        } catch {
            return (false, "check failed: \(error)")
        }
    }
}
