import FailoverConfig
import FailoverCore
import Foundation
import Logging
import NIOCore
import Subprocess

#if canImport(Glibc)
import Glibc
#endif

#if canImport(System)
import System
#else
import SystemPackage
#endif

/// A request to the supervisor from the main loop.
enum EngineCommand: Sendable {
    /// Validate the engine's config, then make the running engine reload it; the answer is the outcome.
    case reload(reply: @Sendable (Bool, String) -> Void)
}

/// Owns the proxy engine's process on this node (both roles: the backup's engine is warm). Starts it with
/// `NOTIFY_SOCKET` set to the agent's own notify socket, waits for `READY=1` (at most `engine.ready_timeout`),
/// probes one listener every second once ready (three misses in a row: the engine hangs), and restarts it on
/// exit, on a missed deadline or on a hang, with `RestartBackoff`. Every change goes to the main loop as an
/// `EngineReport`; the election decides what it means for the VIP. When the agent stops (after the VIP is
/// released) the engine is asked to stop, then killed after 10 s.
struct EngineSupervisor: Sendable {
    let engine: AgentConfiguration.Engine
    let notifyPath: String
    /// Where the engine's pid is kept, so a restarted agent can stop an engine its killed predecessor left.
    let pidFile: String
    let group: any EventLoopGroup
    let events: AsyncStream<AgentEvent>.Continuation
    let progress: ProgressMonitor
    let clock: AgentClock
    /// The shared addresses (without prefix), to see whether the engine binds one of them.
    let vipAddresses: [String]
    let logger: Logger
    /// Bundles whose check passed moments ago, shared with the config watcher and the sync worker.
    var checked: CheckedBundles?

    private enum Event: Sendable {
        case started(Int32)
        case exited(String)
        case notify(String, sender: Int32)
        case probe(Bool)
        case tick
        case command(EngineCommand)
    }

    func run(commands: AsyncStream<EngineCommand>) async {
        guard let config = engine.config else {
            events.yield(
                .engine(EngineReport(state: .unsupervised, kind: "none", restarts: 0, detail: "no engine.config"))
            )
            for await command in commands {
                if case .reload(let reply) = command { reply(true, "no engine is supervised") }
            }
            return
        }
        let launch = EngineLaunch(engine: engine, config: config, checked: checked)
        var probeTarget = engine.probe
        if let data = FileManager.default.contents(atPath: config) {
            let text = String(decoding: data, as: UTF8.self)
            if probeTarget == nil { probeTarget = EngineLaunch.defaultProbe(configText: text) }
            // The embedded engine binds a non-local VIP with IP_FREEBIND itself; HAProxy needs the sysctl (or
            // `freebind` on its bind line).
            if engine.kind == .haproxy { allowNonLocalBind(for: EngineLaunch.binds(configText: text).map(\.host)) }
        }
        if probeTarget == nil {
            logger.warning(
                "the engine's listeners are not probed: no bind on every address or loopback",
                metadata: ["fix": "set engine.probe = \"ADDR:PORT\" of a listener reachable on this node"]
            )
        }
        let (stream, sink) = AsyncStream<Event>.makeStream()
        let (notes, noteSink) = AsyncStream<(String, Int32)>.makeStream()
        let listener: EngineNotifyListener?
        do {
            // An engine with its own user may write to the socket through its group (the runtime directory is
            // 0751 in the packaged unit: anyone may pass, only the socket's mode decides).
            listener = try EngineNotifyListener(
                path: notifyPath,
                writerGroup: launch.user.flatMap { getpwnam($0)?.pointee.pw_gid }
            )
        } catch {
            logger.error(
                "cannot open the engine's notify socket; readiness is taken from the probe alone",
                metadata: ["path": "\(notifyPath)", "error": "\(error)"]
            )
            listener = nil
        }
        await withDiscardingTaskGroup { tasks in
            if let listener { tasks.addTask { await listener.run(noteSink) } }
            tasks.addTask {
                for await (note, sender) in notes { sink.yield(.notify(note, sender: sender)) }
            }
            tasks.addTask {
                for await command in commands { sink.yield(.command(command)) }
            }
            tasks.addTask {
                while !Task.isCancelled {
                    try? await Task.sleep(for: .milliseconds(250))
                    sink.yield(.tick)
                }
            }
            var machine = Machine(
                launch: launch,
                readyTimeout: engine.readyTimeout,
                probeTarget: probeTarget,
                usesNotify: listener != nil
            )
            progress.supervisorPassed(at: clock.now())
            report(machine.report)
            await stopLeftover(launch)
            tasks.addTask { await spawn(launch, sink) }
            loop: for await event in stream {
                if Task.isCancelled { break loop }
                switch event {
                case .started(let pid):
                    machine.started(pid)
                    try? "\(pid)\n".write(toFile: pidFile, atomically: true, encoding: .utf8)
                case .exited(let why):
                    unlink(pidFile)
                    let delay = machine.exited(why)
                    logger.error(
                        "engine exited; restarting",
                        metadata: [
                            "why": "\(why)", "in": "\(delay.compactDescription)", "restarts": "\(machine.restarts)",
                        ]
                    )
                case .notify(let note, let sender):
                    guard sender != 0, sender == machine.pid else {
                        logger.warning(
                            "notify message ignored: not from the engine",
                            metadata: [
                                "sender_pid": "\(sender)", "engine_pid": "\(machine.pid ?? 0)", "message": "\(note)",
                            ]
                        )
                        continue
                    }
                    for line in note.split(separator: "\n") where machine.notified(String(line)) {
                        logger.notice("engine ready", metadata: ["pid": "\(machine.pid ?? 0)"])
                    }
                case .probe(let ok):
                    if let failure = machine.probed(ok) {
                        logger.error("engine not answering; killing it to restart", metadata: ["why": "\(failure)"])
                        EngineSignal.send(SIGKILL, to: machine.pid)
                    }
                case .tick:
                    progress.supervisorPassed(at: clock.now())
                    switch machine.ticked() {
                    case .none:
                        break
                    case .start:
                        tasks.addTask { await spawn(launch, sink) }
                    case .kill(let why):
                        logger.error("engine not serving; killing it to restart", metadata: ["why": "\(why)"])
                        EngineSignal.send(SIGKILL, to: machine.pid)
                    case .probe:
                        if let target = probeTarget {
                            tasks.addTask {
                                let ok = await EngineProbe(
                                    host: target.address.description,
                                    port: Int(target.port ?? 0),
                                    group: group
                                ).attempt(timeout: .seconds(1))
                                sink.yield(.probe(ok))
                            }
                        }
                    }
                case .command(.reload(let reply)):
                    let pid = machine.pid
                    tasks.addTask {
                        let (ok, message) = await reload(launch, pid: pid)
                        reply(ok, message)
                    }
                }
                report(machine.report)
            }
            sink.finish()
            noteSink.finish()
            tasks.cancelAll()
        }
    }

    /// An engine that binds the VIP itself must be able to on the backup, where the VIP is not on any
    /// interface: that takes `net.ipv4.ip_nonlocal_bind` (`net.ipv6.ip_nonlocal_bind`) = 1 in the node's
    /// network namespace. The agent sets it (it has CAP_NET_ADMIN) or says how. Binding the wildcard
    /// address (`bind :80`) needs nothing and is what docs/runtime.md recommends.
    private func allowNonLocalBind(for hosts: [String]) {
        for family in ["ipv4", "ipv6"] {
            let isFamily = { (host: String) in family == "ipv6" ? host.contains(":") : !host.contains(":") }
            guard hosts.contains(where: { host in isFamily(host) && vipAddresses.contains(host) }) else { continue }
            let path = "/proc/sys/net/\(family)/ip_nonlocal_bind"
            let current = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(
                in: .whitespacesAndNewlines
            )
            if current == "1" { continue }
            do {
                try "1\n".write(toFile: path, atomically: false, encoding: .utf8)
                logger.notice(
                    "set net.\(family).ip_nonlocal_bind = 1: the engine binds the VIP, which the backup does not hold",
                    metadata: ["file": "\(path)"]
                )
            } catch {
                logger.error(
                    "the engine binds the VIP but net.\(family).ip_nonlocal_bind is 0: the backup's engine cannot start",
                    metadata: [
                        "fix":
                            "sysctl -w net.\(family).ip_nonlocal_bind=1 (and in /etc/sysctl.d), or bind the wildcard address",
                        "error": "\(error)",
                    ]
                )
            }
        }
    }

    /// Stops an engine a previous agent left running (killed with -9, its child survived): it would hold the
    /// ports and send notifications. Only a process whose command line is this engine's is touched. It gets
    /// 1 s to drain, then SIGKILL: the restarted agent has removed the stale VIP, so what that engine still
    /// holds are connections of clients that have moved on (with the 10 s drain of a normal stop, one such
    /// connection kept this node from being a ready backup for 5 s).
    private func stopLeftover(_ launch: EngineLaunch) async {
        guard let text = try? String(contentsOfFile: pidFile, encoding: .utf8),
            let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)), pid > 1,
            let cmdline = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline")
        else { return }
        let words = cmdline.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
        guard
            words.first == launch.binary
                || words.first.map({ ($0 as NSString).lastPathComponent })
                    == (launch.binary as NSString).lastPathComponent,
            words.contains(launch.config)
        else { return }
        logger.warning("an engine left by an earlier run is still running; stopping it", metadata: ["pid": "\(pid)"])
        EngineSignal.send(launch.stopSignal, to: pid)
        for _ in 0..<10 where EngineSignal.send(0, to: pid) && !Self.isZombie(pid) {
            try? await Task.sleep(for: .milliseconds(100))
        }
        if EngineSignal.send(0, to: pid) && !Self.isZombie(pid) { EngineSignal.send(SIGKILL, to: pid) }
        unlink(pidFile)
    }

    private static func isZombie(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return true }
        return stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).hasPrefix("Z")
    }

    private func report(_ report: EngineReport) {
        events.yield(.engine(report))
    }

    /// Runs the engine until it exits; cancellation (the agent stopping) asks it to stop, then kills it.
    private func spawn(_ launch: EngineLaunch, _ sink: AsyncStream<Event>.Continuation) async {
        var options = PlatformOptions()
        options.teardownSequence = [
            .send(signal: .init(rawValue: launch.stopSignal), allowedDurationToNextStep: .seconds(10))
        ]
        let inherited = FileDescriptor(rawValue: 2)
        do {
            let command = launch.privileged(launch.arguments)
            let result = try await Subprocess.run(
                .path(FilePath(command.executable)),
                arguments: Arguments(command.arguments),
                environment: .inherit.updating(["NOTIFY_SOCKET": notifyPath]),
                platformOptions: options,
                input: .none,
                output: .fileDescriptor(inherited, closeAfterSpawningProcess: false),
                error: .fileDescriptor(inherited, closeAfterSpawningProcess: false)
            ) { execution in
                sink.yield(.started(execution.processIdentifier.value))
            }
            sink.yield(.exited(Self.describe(result.terminationStatus)))
        } catch {
            sink.yield(.exited("could not start \(launch.binary): \(error)"))
        }
    }

    /// Validates the config with the engine's own check, then signals the running engine.
    private func reload(_ launch: EngineLaunch, pid: Int32?) async -> (Bool, String) {
        let check = await launch.check()
        let (valid, output) = (check.valid, check.output)
        guard valid else {
            logger.error("engine reload refused: the config does not pass the check", metadata: ["output": "\(output)"])
            return (false, "engine config refused, the running engine keeps the old one:\n\(output)")
        }
        for warning in check.repeated ? [] : check.warnings {
            logger.warning("engine config warning", metadata: ["warning": "\(warning)"])
        }
        guard let pid else { return (true, "engine config valid; the engine is not running, it starts with it") }
        EngineSignal.send(launch.reloadSignal, to: pid)
        logger.notice("engine reloading", metadata: ["pid": "\(pid)"])
        return (true, "engine config valid; the engine reloads it gracefully")
    }

    static func describe(_ status: TerminationStatus) -> String {
        switch status {
        case .exited(let code): return "exited with status \(code)"
        case .signaled(let signal): return "killed by signal \(signal)"
        }
    }
}

extension EngineSupervisor {
    /// The supervisor's decisions, separate from its I/O.
    struct Machine {
        enum TickAction {
            case none
            case start
            case kill(String)
            case probe
        }

        let launch: EngineLaunch
        let readyTimeout: Duration
        let probeTarget: Endpoint?
        let usesNotify: Bool
        var state = EngineReport.State.starting
        var pid: Int32?
        var restarts = 0
        var lastExit: String?
        var detail = "starting"
        var startedAt = ContinuousClock.now
        var restartAt: ContinuousClock.Instant?
        var lastProbe = ContinuousClock.now
        var probeFailures = 0
        /// The first restart after a stable run comes at once (100 ms, systemd's default `RestartSec`): while
        /// the engine is down the primary serves nobody (chaos.sh measured a 620 ms outage at 500 ms).
        var backoff = RestartBackoff(initial: .milliseconds(100))
        /// The engine's last `WATCHDOG=1`; once an engine pings, silence for `watchdogLimit` means it hangs.
        var lastWatchdog: ContinuousClock.Instant?
        let watchdogLimit = Duration.seconds(3)

        var report: EngineReport {
            EngineReport(
                state: state,
                kind: launch.kind.rawValue,
                pid: pid,
                restarts: restarts,
                lastExit: lastExit,
                detail: detail
            )
        }

        mutating func started(_ pid: Int32) {
            self.pid = pid
            state = .starting
            detail = "waiting for READY=1"
            startedAt = .now
            probeFailures = 0
            lastWatchdog = nil
        }

        mutating func exited(_ why: String) -> Duration {
            let ranFor = ContinuousClock.now - startedAt
            pid = nil
            restarts += 1
            lastExit = why
            state = .restarting
            let delay = backoff.delay(afterRunOf: ranFor)
            restartAt = .now + delay
            detail = "restarting in \(delay.compactDescription)"
            return delay
        }

        /// Whether `line` made the engine ready.
        mutating func notified(_ line: String) -> Bool {
            if line == "WATCHDOG=1" && pid != nil { lastWatchdog = .now }
            guard line == "READY=1", state == .starting, pid != nil else { return false }
            // The embedded engine pings from the moment it is ready; HAProxy does not ping.
            if launch.kind == .embedded && lastWatchdog == nil { lastWatchdog = .now }
            state = .ready
            detail = ""
            lastProbe = .now
            return true
        }

        /// A probe result; the reason when the engine counts as hung.
        mutating func probed(_ ok: Bool) -> String? {
            if state == .starting && !usesNotify && ok && pid != nil {
                // Without a notify socket the first answer on the probe is the readiness signal.
                state = .ready
                detail = ""
                lastProbe = .now
                return nil
            }
            guard state == .ready else { return nil }
            if ok {
                probeFailures = 0
                return nil
            }
            probeFailures += 1
            guard probeFailures >= 3, let target = probeTarget else { return nil }
            state = .restarting
            detail = "no answer on \(target) three times in a row"
            return detail
        }

        mutating func ticked() -> TickAction {
            let now = ContinuousClock.now
            switch state {
            case .restarting where pid == nil:
                guard let at = restartAt, now >= at else { return .none }
                restartAt = nil
                state = .starting
                detail = "starting"
                startedAt = now
                return .start
            case .starting where pid != nil && now - startedAt >= readyTimeout:
                state = .restarting
                detail = "no READY=1 within \(readyTimeout.compactDescription)"
                return .kill(detail)
            case .starting where pid != nil && !usesNotify && probeTarget != nil:
                return .probe
            case .ready where lastWatchdog.map { now - $0 >= watchdogLimit } ?? false:
                state = .restarting
                detail = "no WATCHDOG=1 for \(watchdogLimit.compactDescription): the engine hangs"
                return .kill(detail)
            case .ready where now - lastProbe >= .seconds(1):
                lastProbe = now
                return probeTarget == nil ? .none : .probe
            default:
                return .none
            }
        }
    }
}
