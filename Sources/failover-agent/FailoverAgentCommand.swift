import ArgumentParser
import ControlProtocol
import FailoverAgent
import FailoverConfig
import FailoverWire
import Logging
import Metrics
import NodeCheck
import Prometheus
import ServiceLifecycle
import UnixSignals

/// `failover-agent`: the daemon.
@main
struct FailoverAgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "failover-agent",
        abstract: "Keep a shared IP and a proxy on one of two nodes, and move them when a node fails.",
        version: productVersion,
        subcommands: [Run.self, Check.self, Proxy.self, DropPrivileges.self],
        defaultSubcommand: Run.self
    )
}

extension FailoverAgentCommand {
    /// `failover-agent run`: the daemon (what the systemd unit starts).
    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Run the agent (the systemd unit's ExecStart).")

        @Option(name: .shortAndLong, help: "The agent's TOML configuration.")
        var config = "/etc/failover-agent/agent.toml"

        @Option(help: "Where the agent keeps its boot id between runs.")
        var stateDirectory = "/var/lib/failover-agent"

        @Option(help: "Group allowed to change state through the control socket.")
        var controlGroup = "failover-agent"

        @Option(help: "Log level: trace, debug, info, notice, warning, error.")
        var logLevel = "info"

        func run() async throws {
            let logger = bootstrapLogging(level: logLevel, label: "failover-agent")
            let registry = PrometheusCollectorRegistry()
            MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
            let loaded: (AgentConfiguration, Keyring)
            do {
                loaded = try AgentSetup.load(configurationPath: config)
            } catch {
                logger.critical("cannot start: \(error)")
                throw ExitCode(78)  // EX_CONFIG: systemd does not restart on a bad configuration in a loop
            }
            var options = AgentOptions(controlGroup: controlGroup)
            options.stateDirectory = FileSystem.isDirectory(stateDirectory) ? stateDirectory : nil
            let service = AgentService(
                configuration: loaded.0,
                configurationPath: config,
                keyring: loaded.1,
                options: options,
                registry: registry,
                logger: logger
            )
            let group = ServiceGroup(
                configuration: ServiceGroupConfiguration(
                    services: [.init(service: service)],
                    gracefulShutdownSignals: [.sigterm, .sigint],
                    logger: logger
                )
            )
            try await group.run()
        }
    }

    /// `failover-agent check`: validate the configuration and key file, like `haproxy -c`.
    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Validate the configuration and key; exit 0 or 1.")

        @Option(name: .shortAndLong, help: "The agent's TOML configuration.")
        var config = "/etc/failover-agent/agent.toml"

        @Flag(help: "Do not compare the links with this host's addresses (checking a file for another host).")
        var otherHost = false

        func run() throws {
            // The same check as `failoverctl check` (NodeCheck): one verdict.
            let report = NodeCheck.run(path: config, hostAddresses: otherHost ? nil : HostAddresses.current())
            report.lines(path: config).forEach { print($0) }
            if !report.errors.isEmpty { throw ExitCode(1) }
        }
    }
}
