import ArgumentParser
import FailoverAgent
import Foundation
import Logging
import NIOPosix
import ProxyConfig
import ProxyEngine
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
            do {
                engine = try ProxyEngine(
                    configuration: parsed,
                    group: MultiThreadedEventLoopGroup.singleton,
                    logger: logger
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
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask {
                    try await engine.run { logger.notice("ready: every listener bound, first checks done") }
                }
                tasks.addTask {
                    let signals = await UnixSignalsSequence(trapping: .sigterm, .sigint)
                    for await signal in signals {
                        logger.notice("stopping", metadata: ["signal": "\(signal)"])
                        return
                    }
                }
                _ = try await tasks.next()
                tasks.cancelAll()
            }
        }
    }
}
