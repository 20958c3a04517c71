import ArgumentParser
import FailoverAgent
import Foundation
import Logging
import NIOCore
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
        var config: String?

        @Flag(help: "Validate the configuration and exit 0 (valid) or 1 (with every error).")
        var check = false

        @Option(help: "Log level: trace, debug, info, notice, warning, error.")
        var logLevel = "info"

        @Flag(help: "Print the table of keywords and what the engine does with each (docs/proxy-config.md), and exit.")
        var keywords = false

        func validate() throws {
            if config == nil && !keywords { throw ValidationError("--config FILE is required") }
        }

        func run() async throws {
            if keywords {
                print(KeywordTable.markdown, terminator: "")
                return
            }
            let config = self.config ?? ""
            let logger = bootstrapLogging(level: logLevel, label: "failover-proxy")
            var parsed: ProxyConfiguration
            do {
                parsed = try Self.load(config)
            } catch {
                print(error.description)
                throw ExitCode(1)
            }
            if check {
                for warning in parsed.warnings { print("warning: \(warning)") }
            } else {
                // Through the logger (standard error, unbuffered; the journal under the agent), at once.
                for warning in parsed.warnings { logger.warning("\(warning)") }
            }
            // `global nbthread` loops, else one loop pinned to each CPU (EventLoopPlacement).
            let (group, pinned, pinFailures) = EventLoopPlacement.makeGroup(threads: parsed.threads)
            if !check {
                logger.info(
                    "event loops",
                    metadata: [
                        "loops":
                            "\(parsed.threads ?? EventLoopPlacement.pinnedCPUs(threads: nil)?.count ?? System.coreCount)",
                        "pinned_cpus": "\(pinned.isEmpty ? "none" : pinned.map(String.init).joined(separator: ","))",
                    ]
                )
                for failure in pinFailures {
                    logger.warning(
                        "an event loop could not be pinned; it runs unpinned",
                        metadata: ["reason": "\(failure)"]
                    )
                }
            }
            do {
                // The check changes no limit, but fails where the engine could not start.
                try Self.fitDescriptors(&parsed, file: config, group: group, logger: logger, dryRun: check)
            } catch {
                print("\(error)")
                throw ExitCode(1)
            }
            let engine: ProxyEngine
            let sockets = ListeningSockets()
            do {
                engine = try ProxyEngine(
                    configuration: parsed,
                    group: group,
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
            try await serve(config: config, first: engine, group: group, sockets: sockets, logger: logger)
        }

        /// Sends `WATCHDOG=1` every 500 ms while every event loop runs a task within a second: the supervising
        /// agent (or systemd with `WatchdogSec=`) restarts an engine that stops pinging, which a TCP probe
        /// cannot see (a stopped process's listening socket still completes handshakes).
        private static func pingWhileAlive(_ notifier: SystemdNotifier, group: MultiThreadedEventLoopGroup) async {
            guard notifier.isEnabled else { return }
            let loops = Array(group.makeIterator())
            while !Task.isCancelled {
                let answered = await withTaskGroup(of: Bool.self) { race in
                    race.addTask {
                        for loop in loops { try? await loop.submit {}.get() }
                        return true
                    }
                    race.addTask {
                        try? await Task.sleep(for: .seconds(1))
                        return false
                    }
                    let first = await race.next() ?? false
                    race.cancelAll()
                    return first
                }
                if answered { _ = notifier.watchdog() }
                try? await Task.sleep(for: .milliseconds(500))
            }
        }

        /// Sets `global maxconn` from the descriptor limit when the file has none, or raises the soft limit for
        /// the one it has (``DescriptorBudget``), and says which.
        static func fitDescriptors(
            _ parsed: inout ProxyConfiguration,
            file: String,
            group: MultiThreadedEventLoopGroup,
            logger: Logger,
            dryRun: Bool = false
        ) throws(DescriptorBudget.Shortfall) {
            let loops = Array(group.makeIterator()).count
            let outcome = try DescriptorBudget.apply(to: &parsed, file: file, eventLoops: loops, dryRun: dryRun)
            guard !dryRun else { return }
            switch outcome {
            case .derived(let maxConnections, let limit):
                logger.info(
                    "no global maxconn: \(maxConnections) connections, from the descriptor limit as HAProxy does",
                    metadata: ["descriptor_limit": "\(limit)", "event_loops": "\(loops)"]
                )
            case .raised(let descriptors):
                logger.info("descriptor limit raised for global maxconn", metadata: ["limit": "\(descriptors)"])
            case .fits:
                break
            }
        }

        /// Serves until SIGTERM/SIGINT; on SIGHUP re-reads the file: an invalid one is refused (the running engine
        /// goes on), a valid one starts a new engine that accepts from the same listening sockets (no queued
        /// connection is lost) and, once it is ready, the old one stops accepting and drains.
        /// Reads and parses the configuration file, with the files it names (`acl -f`) read as HAProxy reads
        /// them (relative paths from the working directory).
        static func load(_ path: String) throws(ProxyConfigError) -> ProxyConfiguration {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw ProxyConfigError(
                    issues: [ProxyConfigIssue(file: path, line: 0, keyword: "file", message: "cannot read it")]
                )
            }
            return try ProxyConfigParser.parse(String(decoding: data, as: UTF8.self), file: path) { name in
                FileManager.default.contents(atPath: name).map { Array($0) }
            }
        }

        private func serve(
            config: String,
            first: ProxyEngine,
            group: MultiThreadedEventLoopGroup,
            sockets: ListeningSockets,
            logger: Logger
        ) async throws {
            // READY=1 / RELOADING=1 / STOPPING=1 go to NOTIFY_SOCKET: systemd's, or the supervising agent's.
            let notifier = SystemdNotifier()
            let liveness = Task { await Self.pingWhileAlive(notifier, group: group) }
            defer { liveness.cancel() }
            var current = Task {
                do {
                    try await first.run {
                        logger.notice("ready: every listener bound, first checks done")
                        _ = notifier.ready(status: "serving")
                    }
                } catch {
                    // Nothing to serve (a port taken, say): exit, so the supervisor sees it and says why.
                    logger.critical("engine cannot start: \(error)")
                    Foundation.exit(1)
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
                    await current.value
                    return
                }
                let next: ProxyEngine
                do {
                    var parsed = try Self.load(config)
                    for warning in parsed.warnings { logger.warning("\(warning)") }
                    try Self.fitDescriptors(&parsed, file: config, group: group, logger: logger)
                    next = try ProxyEngine(
                        configuration: parsed,
                        group: group,
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
                    do {
                        try await next.run { readySink.yield() }
                    } catch {
                        logger.error("the new configuration's engine stopped: \(error)")
                    }
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
                    await old.value
                    sockets.keep(only: keep)
                }
            }
        }
    }
}
