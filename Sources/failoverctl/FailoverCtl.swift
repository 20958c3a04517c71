import ArgumentParser
import ControlProtocol
import FailoverConfig
import FailoverWire
import Foundation
import NodeCheck
import ProxyConfig

/// `failoverctl`: the operator's tool.
@main
struct FailoverCtl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "failoverctl",
        abstract: "Show and move the role of a failover-agent pair.",
        discussion: """
            Exit codes: 0 done; 1 refused or failed (the reason is printed); 3 agent not running;
            4 permission denied; 5 unreadable answer; 64 usage error.
            """,
        version: productVersion,
        subcommands: [
            Status.self, Failover.self, Promote.self, Demote.self, Maintenance.self, History.self, Reload.self,
            Sync.self, Check.self, Keygen.self,
        ]
    )
}

/// Options every command that talks to the agent has.
struct ConnectionOptions: ParsableArguments {
    @Option(help: "The agent's control socket.")
    var socket = AgentConfiguration.Defaults.controlSocket

    @Flag(help: "Print the agent's reply as JSON.")
    var json = false

    /// Sends one command and prints the reply; exits with the documented code.
    func perform(_ command: ControlCommand, render: (ControlReply) -> String) throws {
        let reply: ControlReply
        do {
            reply = try ControlClient(path: socket).send(ControlRequest(command: command))
        } catch let error as ClientError {
            if json {
                print("{\"ok\":false,\"message\":\(jsonString(error.description))}")
            } else {
                printError(error.description)
            }
            throw ExitCode(error.exitCode)
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(reply), as: UTF8.self))
        } else if reply.ok {
            print(render(reply))
        } else {
            printError(reply.message)
        }
        guard reply.ok else {
            throw ExitCode(reply.error == .permissionDenied ? ExitCodes.permissionDenied : ExitCodes.failed)
        }
    }
}

func printError(_ text: String) {
    FileHandle.standardError.write(Data("failoverctl: \(text)\n".utf8))
}

func jsonString(_ text: String) -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.withoutEscapingSlashes]
    return String(decoding: (try? encoder.encode(text)) ?? Data("\"\"".utf8), as: UTF8.self)
}

/// The one-line result of a role command, with its duration.
func timed(_ reply: ControlReply) -> String {
    guard let elapsed = reply.elapsedMilliseconds else { return reply.message }
    return "\(reply.message) (took \(Rendering.milliseconds(elapsed)))"
}

extension FailoverCtl {
    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Role, peer and links, VIP, engine and config of this node."
        )
        @OptionGroup var connection: ConnectionOptions
        func run() throws {
            try connection.perform(.status) { reply in reply.status.map(Rendering.status) ?? reply.message }
        }
    }

    struct Failover: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Move the role to the other node (planned switchover), from either node."
        )
        @OptionGroup var connection: ConnectionOptions
        func run() throws { try connection.perform(.failover, render: timed) }
    }

    struct Promote: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Make this node primary.")
        @OptionGroup var connection: ConnectionOptions
        func run() throws { try connection.perform(.promote, render: timed) }
    }

    struct Demote: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Make this node backup (hand over to the peer).")
        @OptionGroup var connection: ConnectionOptions
        func run() throws { try connection.perform(.demote, render: timed) }
    }

    struct Maintenance: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Put this node in or out of maintenance (never primary while on)."
        )
        enum Switch: String, ExpressibleByArgument { case on, off }
        @Argument(help: "on or off") var state: Switch
        @OptionGroup var connection: ConnectionOptions
        func run() throws { try connection.perform(state == .on ? .maintenanceOn : .maintenanceOff, render: timed) }
    }

    struct History: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The last role changes with their reasons, or with --config the kept config versions."
        )
        @Flag(help: "List the config versions kept in the history directory (newest first).")
        var config = false
        @OptionGroup var connection: ConnectionOptions
        func run() throws {
            if config {
                try connection.perform(.configHistory) { reply in Rendering.configVersions(reply.configVersions ?? []) }
            } else {
                try connection.perform(.history) { reply in Rendering.history(reply.history ?? []) }
            }
        }
    }

    struct Sync: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Sync the engine's config now: on the primary push it, on the backup fetch it.",
            discussion: "Waits until both nodes serve the same generation (at most 15 s) and prints how long it took."
        )
        @OptionGroup var connection: ConnectionOptions
        func run() throws { try connection.perform(.sync, render: timed) }
    }

    struct Reload: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Re-read the configuration and key; never changes the role."
        )
        @OptionGroup var connection: ConnectionOptions
        func run() throws { try connection.perform(.reload) { $0.message } }
    }

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate a configuration offline; exit 1 with the errors."
        )
        @Option(name: .shortAndLong, help: "The agent's TOML configuration.")
        var config = "/etc/failover-agent/agent.toml"
        @Flag(help: "Print {\"ok\": …, \"errors\": […], \"warnings\": […]} as JSON.")
        var json = false
        @Flag(help: "Do not compare the links with this host's addresses (checking a file for another host).")
        var otherHost = false

        func run() throws {
            // The same check as `failover-agent check` and the agent's start (NodeCheck): one verdict.
            let report = NodeCheck.run(path: config, hostAddresses: otherHost ? nil : HostAddresses.current())
            if json {
                let errors = report.errors.map(jsonString).joined(separator: ",")
                let warnings = report.warnings.map(jsonString).joined(separator: ",")
                print("{\"ok\":\(report.errors.isEmpty),\"errors\":[\(errors)],\"warnings\":[\(warnings)]}")
            } else {
                report.lines(path: config).forEach { print($0) }
            }
            if !report.errors.isEmpty { throw ExitCode(ExitCodes.failed) }
        }
    }

    struct Keygen: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a new cluster key (32 random bytes, hex). Save it with mode 600 on both nodes.",
            discussion: "umask 077; failoverctl keygen > /etc/failover-agent/cluster.key"
        )
        @Flag(help: "Print {\"key\": \"…\"} as JSON.")
        var json = false

        func run() throws {
            var generator = SystemRandomNumberGenerator()
            let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
            if json {
                print("{\"key\":\"\(Hex.encode(bytes))\"}")
            } else {
                print("# failover-agent cluster key; keep it secret, mode 600, identical on both nodes")
                print(Hex.encode(bytes))
            }
        }
    }
}
