import ArgumentParser
import CFailoverNet
import FailoverConfig

#if canImport(Glibc)
import Glibc
#endif

extension FailoverAgentCommand {
    /// Runs a program with less than the agent has: as another user and with only the capabilities named.
    /// The agent starts the engine (`--user` from `engine.user`, keeping CAP_NET_BIND_SERVICE) and the hooks
    /// (keeping `hooks.capabilities`, none by default) through it, so neither inherits the agent's
    /// CAP_NET_ADMIN and CAP_NET_RAW, and the engine cannot read the cluster key.
    struct DropPrivileges: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "drop-privileges",
            abstract: "Run a program as another user with only the named capabilities (used by the agent).",
            shouldDisplay: false
        )

        @Option(help: "The user to become (with its groups); default: stay this user.")
        var user: String?

        @Option(name: .customLong("keep"), help: "A capability to keep (CAP_NET_BIND_SERVICE, ...); repeatable.")
        var keep: [String] = []

        @Argument(parsing: .captureForPassthrough, help: "-- PROGRAM [ARGUMENTS...]")
        var command: [String] = []

        func run() throws {
            var command = self.command
            if command.first == "--" { command.removeFirst() }
            guard let program = command.first else {
                throw ValidationError("name the program to run after --")
            }
            var capabilities: [Capability] = []
            for name in keep {
                guard let capability = Capability(name: name) else {
                    throw ValidationError("unknown capability '\(name)' (see capabilities(7))")
                }
                capabilities.append(capability)
            }
            var error = [CChar](repeating: 0, count: 512)
            if fa_drop_privileges(user, Capability.mask(capabilities), &error, error.count) != 0 {
                let reason = String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                FileSystem.standardError("failover-agent drop-privileges: \(reason)\n")
                throw ExitCode(126)
            }
            // The program starts with default signal handling, whatever the agent ignored or blocked (an
            // ignored SIGTERM would be inherited across exec and make the engine or a hook deaf to it).
            for signal in [SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGPIPE, SIGCHLD] {
                Glibc.signal(signal, SIG_DFL)
            }
            var empty = sigset_t()
            sigemptyset(&empty)
            sigprocmask(SIG_SETMASK, &empty, nil)
            var arguments = command.map { strdup($0) } + [nil]
            execv(program, &arguments)
            FileSystem.standardError(
                "failover-agent drop-privileges: cannot run \(program): \(String(cString: strerror(errno)))\n"
            )
            throw ExitCode(127)
        }
    }
}
