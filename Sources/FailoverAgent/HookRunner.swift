import FailoverConfig
import FailoverCore
import FailoverWire
import Logging
import Subprocess
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

#if canImport(System)
import System
#else
import SystemPackage
#endif

/// Runs the operator's `[hooks]` executables on role changes, one at a time in order, off the main loop:
/// the election has already acted (claimed, released) when a hook starts, so a failing or hanging hook
/// never delays a claim or a release. Each gets the role change in its environment, its output is logged,
/// and one still running after `hooks.timeout` is killed.
struct HookRunner: Sendable {
    let hooks: AgentConfiguration.Hooks
    let node: String
    let queue: AsyncStream<[String: String]>.Continuation

    /// Queues the hook for the new role, if one is configured.
    func roleChanged(_ transition: Transition, vips: [String]) {
        let path: String?
        switch transition.to {
        case .primary: path = hooks.onPrimary
        case .backup: path = hooks.onBackup
        case .fault: path = hooks.onFault
        default: path = nil
        }
        guard let path else { return }
        queue.yield(
            environment(
                path: path,
                role: "\(transition.to)",
                previous: "\(transition.from)",
                reason: transition.reason,
                term: transition.term,
                vips: vips
            )
        )
    }

    func environment(
        path: String,
        role: String,
        previous: String,
        reason: String,
        term: UInt64,
        vips: [String]
    ) -> [String: String] {
        [
            "HOOK_PATH": path, "FAILOVER_ROLE": role, "FAILOVER_PREVIOUS_ROLE": previous,
            "FAILOVER_REASON": reason, "FAILOVER_TERM": "\(term)", "FAILOVER_VIP": vips.joined(separator: " "),
            "FAILOVER_NODE": node,
        ]
    }

    /// Runs queued hooks until the queue ends.
    static func run(
        _ queue: AsyncStream<[String: String]>,
        timeout: Duration,
        capabilities: [Capability],
        logger: Logger
    ) async {
        for await environment in queue {
            await runOne(environment, timeout: timeout, capabilities: capabilities, logger: logger)
        }
    }

    /// Runs one hook to its end or its timeout, and logs how it went. The hook runs through `failover-agent
    /// drop-privileges`: as the agent's user, with only `capabilities` (`hooks.capabilities`, none by default)
    /// instead of the agent's CAP_NET_ADMIN and CAP_NET_RAW.
    static func runOne(
        _ variables: [String: String],
        timeout: Duration,
        capabilities: [Capability],
        logger: Logger
    ) async {
        guard let path = variables["HOOK_PATH"] else { return }
        // A minimal environment: the hook's variables and a fixed PATH, nothing else of the agent's (which may
        // hold the unit's credentials or a NOTIFY_SOCKET the hook must not use).
        var environment: [Environment.Key: String] = [
            "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "LANG": "C.UTF-8",
        ]
        for (name, value) in variables where name != "HOOK_PATH" {
            environment[Environment.Key(stringLiteral: name)] = value
        }
        let started = ContinuousClock.now
        let metadata: Logger.Metadata = ["hook": "\(path)", "role": "\(variables["FAILOVER_ROLE"] ?? "")"]
        // Its own process group, so a timeout kills whatever the hook started too.
        var options = PlatformOptions()
        options.processGroupID = 0
        let keep = capabilities.flatMap { ["--keep", "\($0)"] }
        // The timeout's timer, cancelled once the hook has exited: it must never signal a pid reused since.
        let timer = Mutex<Task<Void, Never>?>(nil)
        defer { timer.withLock { $0?.cancel() } }
        do {
            let result = try await Subprocess.run(
                .path(FilePath(EngineLaunch.ownExecutable())),
                arguments: Arguments(["drop-privileges"] + keep + ["--", path]),
                environment: .custom(environment),
                platformOptions: options,
                input: .none,
                output: .string(limit: 1 << 16),
                error: .string(limit: 1 << 16)
            ) { execution in
                // Kill it at the timeout; the run returns once it has exited.
                let pid = execution.processIdentifier.value
                let task = Task {
                    try? await Task.sleep(for: timeout)
                    if !Task.isCancelled && kill(pid, 0) == 0 {
                        logger.error(
                            "hook timed out; killing it",
                            metadata: metadata.merging(["timeout": "\(timeout)"]) { $1 }
                        )
                        kill(-pid, SIGKILL)
                    }
                }
                timer.withLock { $0 = task }
            }
            timer.withLock { $0?.cancel() }
            let output = (result.standardOutput + result.standardError).trimmingTrailingNewlines()
            var details = metadata
            details["took"] = "\((ContinuousClock.now - started).compactDescription)"
            details["outcome"] = "\(EngineSupervisor.describe(result.terminationStatus))"
            if !output.isEmpty { details["output"] = "\(output)" }
            if result.terminationStatus.isSuccess {
                logger.info("hook ran", metadata: details)
            } else {
                logger.warning("hook failed", metadata: details)
            }
        } catch {
            logger.error("hook could not run", metadata: metadata.merging(["error": "\(error)"]) { $1 })
        }
    }
}
