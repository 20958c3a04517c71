import ControlProtocol
import CoreMetrics
import FailoverConfig
import FailoverCore
import FailoverWire
import Logging
import NIOCore
import SystemdNotify

/// The agent's main loop: the one owner of the election. It turns events into inputs and the election's
/// actions into I/O requests for the other tasks. Nothing here blocks.
struct AgentLoop {
    var configuration: AgentConfiguration
    let configurationPath: String
    var election: Election
    var sealer: DatagramSealer
    var opener: DatagramOpener
    /// What the peer speaks, and so which datagram version it gets.
    var negotiation: ProtocolNegotiation
    var channels: [(any Channel)?]
    let peerAddresses: [SocketAddress?]
    let vipJobs: AsyncStream<VIPJob>.Continuation
    let announcements: AsyncStream<String>.Continuation
    let progress: ProgressMonitor
    let clock: AgentClock
    let systemd = SystemdNotifier()
    let metrics = AgentMetrics()
    var logger: Logger

    /// The links' source checks and budgets (empty in tests that feed events directly).
    var intakes: [LinkIntake] = []
    var rejected: [String: Int] = [:]
    var lastRejectionLog: [String: Instant] = [:]
    /// Where the replay checkpoints go to be kept on disk (``ReplayLedger``), and the last ones sent there.
    var replaySaves: AsyncStream<[NodeName: ReplayCheckpoint]>.Continuation?
    var savedCheckpoints: [NodeName: ReplayCheckpoint] = [:]
    var pendingCommands: [CommandID: (reply: @Sendable (ControlReply) -> Void, startedAt: Instant)] = [:]
    var nextCommandID: CommandID = 1
    var readyNotified = false
    var stopped = false
    var shutdownDeadline: Instant?
    var lastReconcile = Instant.zero
    var lastStatusLine = Instant.zero
    var engineReport = EngineReport(state: .starting, kind: "", restarts: 0, detail: "supervisor starting")
    var engineCommands: AsyncStream<EngineCommand>.Continuation?
    var hooks: HookRunner?
    var stampFile = StampFile(path: nil)
    var configNote: ConfigNote?
    /// Warnings of the engine's check of the config on disk (keywords with no effect); shown in status.
    var engineConfigWarnings = 0
    var configInitialized = false
    var sync = SyncState()
    var syncJobs: AsyncStream<SyncJob>.Continuation?
    var offerBox: SyncOfferBox?
    var keyringBox: KeyringBox?

    /// Processes events until the election says shutdown is complete (or its deadline passes).
    mutating func run(_ events: AsyncStream<AgentEvent>) async {
        if configuration.engine.config == nil {
            // Nothing to supervise: eligible from the first instant (not only once the supervisor says so).
            handle(.engine(EngineReport(state: .unsupervised, kind: "none", restarts: 0, detail: "no engine.config")))
        }
        for await event in events {
            handle(event)
            if stopped { break }
        }
    }

    mutating func handle(_ event: AgentEvent) {
        let now = clock.now()
        switch event {
        case .datagram(let bytes, let link):
            if link < intakes.count { intakes[link].budget.processed() }
            receive(bytes, link: link, now: now)
        case .tick:
            apply(election.step(.tick, at: now))
            progress.tickProcessed(at: now)
            checkConfigSync(now: now)
            periodic(now: now)
        case .linkBound(let index, let channel):
            channels[index] = channel
            apply(election.step(.links(bound: channels.compactMap { $0 }.count), at: now))
        case .vip(let result):
            apply(election.step(.vip(result), at: now))
        case .vipDrift(let text):
            logger.warning("\(text)")
        case .control(let request, let caller, let reply):
            control(request, caller: caller, reply: reply, now: now)
        case .shutdown:
            guard shutdownDeadline == nil else { return }
            logger.notice("shutting down: handing over and releasing the VIP")
            systemd.stopping(status: "stopping: handing over")
            shutdownDeadline = now + configuration.cluster.handoffTimeout * 2 + .seconds(2)
            apply(election.step(.shutdown, at: now))
        case .reload(let reply):
            reload(reply: reply)
        case .witness(let reachable):
            apply(election.step(.witness(reachable: reachable), at: now))
        case .configEdited(let edit):
            configEdited(edit, now: now)
        case .sync(let outcome):
            syncFinished(outcome, now: now)
        case .engine(let report):
            guard report != engineReport else { return }
            if report.state != engineReport.state {
                let level: Logger.Level = report.ready ? .notice : .warning
                logger.log(level: level, "engine \(report.state.rawValue)", metadata: ["engine": "\(report.summary)"])
            }
            engineReport = report
            apply(election.step(.engine(ready: report.ready), at: now))
        }
    }

    /// A datagram from the link's peer address (the socket checked the source).
    private mutating func receive(_ bytes: [UInt8], link: Int, now: Instant) {
        guard link < configuration.cluster.links.count else { return }
        switch opener.open(bytes) {
        case .success(let envelope):
            metrics.received(link: link)
            if let learnt = negotiation.heard(envelope, at: .nanoseconds(now.nanoseconds)) {
                peerProtocolChanged(envelope.message.sender, learnt)
            }
            apply(election.step(.receive(envelope, link: link), at: now))
        case .failure(let rejection):
            reject(rejection.label, link: link, detail: rejection.description, now: now)
        }
    }

    /// Logs and counts what a peer's boot speaks, once per change.
    private func peerProtocolChanged(_ name: NodeName, _ peer: ProtocolNegotiation.Peer) {
        var metadata: Logger.Metadata = [
            "peer": "\(name)", "versions": "\(ProtocolNegotiation.text(peer.versions))",
            "release": "\(peer.product ?? "0.3 or older")",
        ]
        metrics.peerProtocol(name.value, version: negotiation.common(with: peer) ?? 0)
        if let common = negotiation.common(with: peer) {
            metadata["speaking"] = "\(common)"
            logger.notice("peer protocol", metadata: metadata)
        } else {
            metadata["this_node"] = "\(ProtocolNegotiation.text(negotiation.local.versions))"
            logger.error(
                """
                peer speaks no protocol version of this node: it is heard (its role counts), but no handoff \
                reaches it; upgrade the older node
                """,
                metadata: metadata
            )
        }
    }

    private mutating func reject(_ label: String, link: Int, detail: String, now: Instant) {
        rejected[label, default: 0] += 1
        metrics.rejected(link: link, reason: label)
        let key = "\(label)/\(link)"
        if lastRejectionLog[key].map({ now - $0 >= .seconds(10) }) ?? true {
            lastRejectionLog[key] = now
            logger.warning(
                "datagram rejected",
                metadata: [
                    "link": "\(link)", "reason": "\(label)", "detail": "\(detail)", "total": "\(rejected[label]!)",
                ]
            )
        }
    }

    private mutating func periodic(now: Instant) {
        if now - lastReconcile >= .seconds(1) {
            lastReconcile = now
            switch election.vip {
            case .held: vipJobs.yield(.reconcile(shouldHold: true))
            case .released where election.role != .primary: vipJobs.yield(.reconcile(shouldHold: false))
            default: break
            }
            for peer in election.peers.values {
                metrics.peerAge(peer.name.value, seconds: (now - peer.lastHeard).milliseconds / 1_000)
            }
            let checkpoints = opener.checkpoints
            if checkpoints != savedCheckpoints {
                savedCheckpoints = checkpoints
                replaySaves?.yield(checkpoints)
            }
        }
        if readyNotified && now - lastStatusLine >= .seconds(5) {
            lastStatusLine = now
            systemd.status(statusLine(now: now))
        }
        if let deadline = shutdownDeadline, now >= deadline, !stopped {
            logger.error("shutdown did not complete in time; releasing the VIP and exiting")
            stopped = true
        }
    }

    /// Performs the election's actions, in order.
    mutating func apply(_ actions: [ElectionAction]) {
        let now = clock.now()
        for action in actions {
            switch action {
            case .send(let message, let link):
                guard link < channels.count, let channel = channels[link], let address = peerAddresses[link] else {
                    continue
                }
                // One datagram, or two (oldest and newest version) to a peer whose release is not known now.
                for version in negotiation.versionsForAll(at: .nanoseconds(now.nanoseconds)) {
                    let bytes = sealer.seal(message, version: version)
                    let datagram = channel.allocator.buffer(bytes: bytes)
                    channel.writeAndFlush(AddressedEnvelope(remoteAddress: address, data: datagram), promise: nil)
                    metrics.sent(link: link)
                }
                if case .heartbeat = message.body { progress.heartbeatSent(at: now) }
            case .claimVIP(let operation):
                metrics.vipClaims.increment()
                vipJobs.yield(.claim(operation: operation))
            case .releaseVIP(let operation):
                metrics.vipReleases.increment()
                vipJobs.yield(.release(operation: operation))
            case .announceVIP(let reason):
                metrics.announcements.increment()
                announcements.yield(reason)
            case .statusChanged(let transition):
                statusChanged(transition, now: now)
            case .commandFinished(let id, let outcome):
                guard let pending = pendingCommands.removeValue(forKey: id) else { continue }
                pending.reply(
                    ControlReply(
                        ok: outcome.succeeded,
                        message: outcome.message,
                        error: outcome.succeeded ? nil : .refused,
                        elapsedMilliseconds: outcome.elapsed.milliseconds
                    )
                )
            case .shutdownComplete:
                logger.notice("shutdown complete: VIP released, peers told")
                stopped = true
            }
        }
    }

    private mutating func statusChanged(_ transition: Transition, now: Instant) {
        metrics.term.record(Double(election.term))
        if transition.from != transition.to {
            hooks?.roleChanged(transition, vips: configuration.vips.map { "\($0.address)/\($0.prefixLength)" })
            metrics.transitions.increment()
            metrics.role(transition.to)
            if transition.to == .primary {
                becamePrimary(now: now)
            } else if transition.from == .primary {
                offerBox?.set(primary: false)
            }
            logger.notice(
                "role changed",
                metadata: [
                    "from": "\(transition.from)", "to": "\(transition.to)", "term": "\(transition.term)",
                    "reason": "\(transition.reason)",
                ]
            )
        } else {
            logger.info("reason changed", metadata: ["role": "\(transition.to)", "reason": "\(transition.reason)"])
        }
        let line = statusLine(now: now)
        lastStatusLine = now
        if !readyNotified && election.role != .initializing {
            readyNotified = true
            systemd.ready(status: line)
        } else {
            systemd.status(line)
        }
    }
}
