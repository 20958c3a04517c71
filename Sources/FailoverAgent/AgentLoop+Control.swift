import ControlProtocol
import CoreMetrics
import FailoverConfig
import FailoverCore
import FailoverWire
import Foundation
import Logging
import SystemdNotify

extension AgentLoop {
    mutating func control(
        _ request: ControlRequest,
        caller: ControlCaller,
        reply: @escaping @Sendable (ControlReply) -> Void,
        now: Instant
    ) {
        if request.command.changesState && !caller.privileged {
            metrics.controlRefused(reason: "permission")
            logger.warning(
                "control command refused",
                metadata: ["command": "\(request.command.rawValue)", "caller": "\(caller)"]
            )
            reply(
                ControlReply(
                    ok: false,
                    message: "permission denied: \(request.command.rawValue) needs root or membership of the "
                        + "group that owns the control socket",
                    error: .permissionDenied
                )
            )
            return
        }
        if shutdownDeadline != nil && request.command.changesState {
            reply(ControlReply(ok: false, message: "the agent is shutting down", error: .shuttingDown))
            return
        }
        let command: AdminCommand
        switch request.command {
        case .status:
            reply(ControlReply(ok: true, message: statusLine(now: now), status: snapshot(now: now)))
            return
        case .history:
            let entries = election.history.map { transition in
                HistoryEntry(
                    at: clock.wallText(of: transition.at),
                    from: transition.from.description,
                    to: transition.to.description,
                    term: transition.term,
                    reason: transition.reason
                )
            }
            reply(ControlReply(ok: true, message: "\(entries.count) transitions", history: entries))
            return
        case .reload:
            reload(reply: reply)
            return
        case .sync:
            syncNow(reply: reply, now: now)
            return
        case .configHistory:
            guard let syncJobs else {
                reply(ControlReply(ok: false, message: "no engine.config: nothing is synced", error: .refused))
                return
            }
            syncJobs.yield(
                .list { versions in
                    reply(ControlReply(ok: true, message: "\(versions.count) versions kept", configVersions: versions))
                }
            )
            return
        case .failover: command = .failover
        case .promote: command = .promote
        case .demote: command = .demote
        case .maintenanceOn: command = .maintenance(true)
        case .maintenanceOff: command = .maintenance(false)
        }
        logger.notice("operator command", metadata: ["command": "\(request.command.rawValue)", "caller": "\(caller)"])
        let id = nextCommandID
        nextCommandID += 1
        pendingCommands[id] = (reply, now)
        apply(election.step(.command(id, command), at: now))
    }

    /// What differs between the running configuration and the file, section by section: a reload applies
    /// the keys (and the engine's own configuration) only, so every other difference is named, never passed
    /// over as "reloaded".
    static func restartNeeded(running: AgentConfiguration, fresh: AgentConfiguration) -> [String] {
        var pending: [String] = []
        func compare<Value: Equatable>(_ name: String, _ path: KeyPath<AgentConfiguration, Value>) {
            if running[keyPath: path] != fresh[keyPath: path] { pending.append(name) }
        }
        compare("[node]", \.node)
        // The key file is read again on reload: a new key_file applies.
        var runningCluster = running.cluster
        runningCluster.keyFile = fresh.cluster.keyFile
        if runningCluster != fresh.cluster { pending.append("[cluster] (links, port, timers, handoff_timeout)") }
        compare("[[vip]]", \.vips)
        compare("[witness]", \.witness)
        compare("[engine]", \.engine)
        compare("[hooks]", \.hooks)
        compare("[control]", \.controlSocket)
        compare("[metrics]", \.metricsListen)
        return pending
    }

    /// Re-reads the configuration and key file. Invalid files are refused and the running ones stay in use.
    /// A reload never changes the role: the keys apply at once; election and address changes need a restart,
    /// and the reply says which.
    mutating func reload(reply: (@Sendable (ControlReply) -> Void)?) {
        systemd.reloading(monotonicMicroseconds: UInt64(max(0, clock.now().nanoseconds / 1_000)))
        defer { systemd.ready(status: statusLine(now: clock.now())) }
        let loaded: (AgentConfiguration, Keyring)
        do {
            loaded = try AgentSetup.load(configurationPath: configurationPath)
        } catch {
            logger.error("reload refused; the running configuration stays in use", metadata: ["error": "\(error)"])
            reply?(ControlReply(ok: false, message: "\(error)", error: .invalidConfiguration))
            return
        }
        let (fresh, keyring) = loaded
        sealer.keyring = keyring
        keyringBox?.value = keyring
        opener.keyring = keyring
        let pending = Self.restartNeeded(running: configuration, fresh: fresh)
        let message =
            pending.isEmpty
            ? "reloaded (key \(keyring.signing.fingerprint)); no role change"
            : "reloaded the keys (\(keyring.signing.fingerprint)) only; NOT applied until the next restart: "
                + pending.joined(separator: ", ")
                + " (systemctl restart failover-agent, on the backup first)"
        logger.notice("\(message)")
        guard let engineCommands else {
            reply?(ControlReply(ok: true, message: message))
            return
        }
        // The engine's config is checked by the engine itself, then reloaded gracefully; never a role change.
        engineCommands.yield(
            .reload { ok, engineMessage in
                reply?(
                    ControlReply(
                        ok: ok,
                        message: "\(message)\n\(engineMessage)",
                        error: ok ? nil : .invalidConfiguration
                    )
                )
            }
        )
    }
}
