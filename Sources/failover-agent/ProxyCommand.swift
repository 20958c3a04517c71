import ArgumentParser
import FailoverAgent
import Foundation
import Logging
import NIOPosix
import ProxyConfig
import ProxyEngine
import SystemdNotify
import UnixSignals

extension FailoverAgentCommand {
    /// `failover-agent proxy`: the embedded proxy engine, as its own process.
    struct Proxy: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Run the embedded proxy engine on an HAProxy-style configuration (or --check it, like haproxy -c)."
        )

        @Option(name: .shortAndLong, help: "The proxy configuration (HAProxy subset, docs/proxy-config.md).")
        var config: String

        @Flag(help: "Validate the configuration and exit 0 (valid) or 1 (with every error).")
        var check = false

        @Option(help: "Log level: trace, debug, info, notice, warning, error.")
        var logLevel = "info"

        func run() async throws {
            let logger = bootstrapLogging(level: logLevel, label: "failover-proxy")
            guard let data = FileManager.default.contents(atPath: config) else {
                print("\(config): cannot read it")
                throw ExitCode(1)
            }
            let parsed: ProxyConfiguration
            do {
                parsed = try ProxyConfigParser.parse(String(decoding: data, as: UTF8.self), file: config)
            } catch {
                print(error.description)
                throw ExitCode(1)
            }
            for warning in parsed.warnings { print("warning: \(warning)") }
            let engine: ProxyEngine
            let sockets = ListeningSockets()
            do {
                engine = try ProxyEngine(
                    configuration: parsed,
                    group: MultiThreadedEventLoopGroup.singleton,
                    logger: logger,
                    sockets: sockets
                )
            } catch {
                print("\(config): \(error)")
                throw ExitCode(1)
            }
            if check {
                print(
                    "\(config): configuration valid (\(parsed.frontends.count) frontends, \(parsed.backends.count) backends)"
                )
                return
            }
            try await serve(first: engine, sockets: sockets, logger: logger)
        }

        /// Serves until SIGTERM/SIGINT; on SIGHUP re-reads the file: an invalid one is refused (the running engine
        /// goes on), a valid one starts a new engine that accepts from the same listening sockets (no queued
        /// connection is lost) and, once it is ready, the old one stops accepting and drains.
        private func serve(first: ProxyEngine, sockets: ListeningSockets, logger: Logger) async throws {
            // READY=1 / RELOADING=1 / STOPPING=1 go to NOTIFY_SOCKET: systemd's, or the supervising agent's.
            let notifier = SystemdNotifier()
            var current = Task {
                try await first.run {
                    logger.notice("ready: every listener bound, first checks done")
                    _ = notifier.ready(status: "serving")
                }
            }
            let signals = await UnixSignalsSequence(trapping: .sigterm, .sigint, .sighup)
            for await signal in signals {
                guard signal == .sighup else {
                    logger.notice("stopping: draining open connections", metadata: ["signal": "\(signal)"])
                    _ = notifier.stopping(status: "draining")
                    current.cancel()
                    // New connections are refused from now on (the peer takes the VIP); open ones drain.
                    sockets.keep(only: [])
                    _ = try? await current.value
                    return
                }
                guard let data = FileManager.default.contents(atPath: config) else {
                    logger.error(
                        "reload refused: cannot read the configuration; the running one stays",
                        metadata: ["file": "\(config)"]
                    )
                    continue
                }
                let next: ProxyEngine
                do {
                    let parsed = try ProxyConfigParser.parse(String(decoding: data, as: UTF8.self), file: config)
                    next = try ProxyEngine(
                        configuration: parsed,
                        group: MultiThreadedEventLoopGroup.singleton,
                        logger: logger,
                        sockets: sockets
                    )
                } catch {
                    logger.error(
                        "reload refused; the running configuration stays in use",
                        metadata: ["error": "\(error)"]
                    )
                    continue
                }
                let (readyStream, readySink) = AsyncStream<Void>.makeStream()
                let replacement = Task {
                    // Ends the stream if the new engine fails to start, so the wait below is bounded.
                    defer { readySink.finish() }
                    try await next.run { readySink.yield() }
                }
                var ready = false
                for await _ in readyStream {
                    ready = true
                    break
                }
                guard ready else {
                    logger.error("reload failed: the new configuration did not start; the running one stays")
                    replacement.cancel()
                    continue
                }
                logger.notice("reloaded: new listeners ready, the old engine drains")
                _ = notifier.ready(status: "serving (reloaded)")
                let old = current
                current = replacement
                old.cancel()
                // Addresses the new configuration dropped close once the old engine has drained.
                let keep = next.bindAddresses
                Task {
                    _ = try? await old.value
                    sockets.keep(only: keep)
                }
            }
        }
    }
}
