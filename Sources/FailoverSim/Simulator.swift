import FailoverCore
import FailoverWire

/// Runs 2 or 3 real election cores over a simulated network on a virtual clock, injects faults drawn from
/// one seed, and checks the invariants after every event (docs/election.md, "Invariants").
///
/// The same options always give the same run: a failing seed replays exactly.
public final class Simulator {
    enum Event {
        case tick(node: Int, incarnation: Int)
        case deliver(node: Int, link: Int, bytes: [UInt8], forged: Bool)
        case vipDone(node: Int, incarnation: Int, operation: UInt64, claim: Bool)
        case resume(node: Int, incarnation: Int)
        case action(String, (Simulator) -> Void)
    }

    public let options: SimulationOptions
    var random: SimRandom
    /// Draws which release each node runs (kept apart so the other draws stay as they were).
    var releaseRandom: SimRandom
    /// Config sync's own generator (Simulator+Sync.swift).
    var syncRandom: SimRandom
    var queue = EventQueue<Event>()
    var now = Instant.zero
    var step = 0
    var nodes: [SimNode] = []
    /// links[from][to][link]
    var links: [[[SimLink]]] = []
    let linkCount = 2
    let tickInterval = Duration.milliseconds(10)
    var baseDelay = Duration.microseconds(200)
    var jitter = Duration.milliseconds(2)
    var duplication = 0.0
    let keyring: Keyring
    let end: Instant
    var witnessConfigured = false
    var heartbeatInterval = Duration.milliseconds(50)
    var deadInterval = Duration.milliseconds(250)
    /// Recent datagrams on the wire, with sender and boot, for the forger.
    var wireLog: [(bytes: [UInt8], sender: NodeName, bootID: UInt64)] = []

    var report: SimulationReport
    var checker = CheckerState()
    var lastCheck = Instant.zero

    /// Prepares a run.
    public init(options: SimulationOptions) {
        self.options = options
        var random = SimRandom(seed: options.seed)
        var keyBytes: [UInt8] = []
        for _ in 0..<32 { keyBytes.append(UInt8.random(in: 0...255, using: &random)) }
        self.keyring = Keyring(signing: ClusterKey(bytes: keyBytes)!)
        self.end = Instant.zero + options.duration
        let count = options.nodeCount ?? (random.chance(0.7) ? 2 : 3)
        self.random = random
        self.syncRandom = SimRandom(seed: options.seed ^ 0x5359_4E43_5359_4E43)
        self.releaseRandom = SimRandom(seed: options.seed ^ 0x5645_5253_494F_4E53)
        self.report = SimulationReport(
            seed: options.seed,
            nodeCount: count,
            simulated: .zero,
            steps: 0,
            failovers: 0,
            handoffs: 0,
            maxNoHolder: .zero,
            maxDualHolder: .zero,
            maxConnectedDualHolder: .zero,
            datagrams: 0,
            forgeries: 0,
            forgeriesRejected: 0,
            unreadable: 0,
            roleChanges: 0,
            violations: [],
            trace: []
        )
        setUpWorld(nodeCount: count)
    }

    /// Runs to the end and returns what was measured.
    public func run() -> SimulationReport {
        while let (at, event) = queue.pop(), at <= end {
            now = at
            step += 1
            let significant: Bool
            switch event {
            case .tick, .deliver: significant = false
            default: significant = true
            }
            handle(event)
            // Between VIP and lifecycle events, sampling every millisecond is exact enough for bounds of
            // hundreds of milliseconds, and keeps 500 seeds within the test budget.
            if significant || now - lastCheck >= .milliseconds(1) {
                lastCheck = now
                checkInvariants()
            }
            if report.violations.count >= 20 { break }
        }
        finishMeasurements()
        report.simulated = now - .zero
        report.steps = step
        return report
    }

    private func setUpWorld(nodeCount: Int) {
        let profile = options.profile
        if profile == .chaos {
            witnessConfigured = random.chance(0.4)
            baseDelay = random.duration(.microseconds(50) ... .milliseconds(2))
            jitter = random.duration(.zero ... .milliseconds(5))
            duplication = random.chance(0.3) ? Double.random(in: 0...0.03, using: &random) : 0
        } else if profile == .stability {
            jitter = .milliseconds(5)
        }
        let samePriority = random.chance(0.3)
        let preempt = profile == .chaos && random.chance(0.3)
        for index in 0..<nodeCount {
            let name = NodeName("lb\(index + 1)")!
            var configuration = ElectionConfiguration(
                name: name,
                priority: samePriority ? 100 : UInt8(200 - index * 50),
                preempt: preempt,
                heartbeatInterval: heartbeatInterval,
                deadInterval: deadInterval,
                linkCount: linkCount,
                witnessConfigured: witnessConfigured
            )
            configuration.mutations = options.mutations
            // The startup wait for a higher-priority peer's engine (as the agent sets it), where priorities differ.
            configuration.peerStartWait = samePriority ? .zero : .seconds(1)
            nodes.append(SimNode(index: index, name: name, configuration: configuration))
            // A mixed-version pair: in chaos, a node may run the previous release (datagram version 1 only).
            if profile == .chaos && options.mixedReleases && releaseRandom.chance(0.25) {
                nodes[index].release = .protocolOne
            }
        }
        links = Array(
            repeating: Array(repeating: Array(repeating: SimLink(), count: linkCount), count: nodeCount),
            count: nodeCount
        )
        if profile == .stability {
            for from in 0..<nodeCount {
                for to in 0..<nodeCount where from != to {
                    links[from][to][0].loss = 0.20
                    links[from][to][1].loss = 0.05
                }
            }
        }
        initialConfigs()
        let together = random.chance(0.5)
        for index in 0..<nodeCount {
            let delay = together ? Duration.zero : random.duration(.zero ... .milliseconds(400))
            schedule(at: .zero + delay, "start \(nodes[index].name)") { $0.start(index) }
        }
        if profile == .chaos {
            scheduleNextFault()
            scheduleNextForgery()
            scheduleNextEdit()
        }
    }

    // MARK: - Events

    func schedule(at: Instant, _ label: String, _ body: @escaping (Simulator) -> Void) {
        queue.schedule(.action(label, body), at: at)
    }

    private func handle(_ event: Event) {
        switch event {
        case .tick(let index, let incarnation):
            guard nodes[index].incarnation == incarnation, nodes[index].isRunning else { return }
            guard !nodes[index].isStalled(at: now) else { return }
            feed(index, .tick)
            if now - nodes[index].lastCheckpointSave >= .seconds(1) { nodes[index].saveCheckpoints(at: now) }
            syncStep(index)
            queue.schedule(.tick(node: index, incarnation: incarnation), at: now + tickInterval)
        case .deliver(let index, let link, let bytes, let forged):
            guard nodes[index].isRunning else { return }
            if nodes[index].isStalled(at: now) {
                if nodes[index].pending.count < 512 {
                    nodes[index].pending.append(.datagram(link: link, bytes: bytes, forged: forged))
                }
                return
            }
            receive(index, link: link, bytes: bytes, forged: forged)
        case .vipDone(let index, let incarnation, let operation, let claim):
            guard nodes[index].incarnation == incarnation, nodes[index].isRunning else { return }
            vipDone(index, operation: operation, claim: claim)
        case .resume(let index, let incarnation):
            guard nodes[index].incarnation == incarnation, nodes[index].isRunning else { return }
            resume(index)
        case .action(let label, let body):
            note(label)
            body(self)
        }
    }

    func note(_ line: @autoclosure () -> String) {
        guard options.trace else { return }
        if report.trace.count >= 5_000 { report.trace.removeFirst(1_000) }
        report.trace.append("\(now) #\(step) \(line())")
    }

    // MARK: - Nodes

    func start(_ index: Int) {
        guard !nodes[index].isRunning else { return }
        nodes[index].incarnation += 1
        let incarnation = nodes[index].incarnation
        let bootID = UInt64(incarnation) << 32 | UInt64(UInt32.random(in: 0...UInt32.max, using: &random))
        nodes[index].election = Election(configuration: nodes[index].configuration, bootID: bootID, now: now)
        nodes[index].isRunning = true
        let advertisement = nodes[index].release.advertisement
        nodes[index].sealer = DatagramSealer(keyring: keyring, bootID: bootID, advertisement: advertisement)
        nodes[index].negotiation = ProtocolNegotiation(
            local: advertisement,
            freshness: nodes[index].configuration.heartbeatInterval * 3 / 2
        )
        // A restarted agent restores its replay windows from its ledger: what the earlier run saved is refused.
        nodes[index].opener = DatagramOpener(
            keyring: keyring,
            localName: nodes[index].name,
            checkpoints: options.forgetReplayCheckpoints ? [:] : nodes[index].savedCheckpoints
        )
        nodes[index].vipHeld = false
        nodes[index].stalledUntil = nil
        nodes[index].pending = []
        nodes[index].shuttingDownSince = nil
        nodes[index].lastTerm = 0
        nodes[index].accepted = nodes[index].savedAccepted
        nodes[index].newestBoot = nodes[index].savedNewestBoot
        nodes[index].lastCheckpointSave = now
        nodes[index].driverFreeAt = now
        nodes[index].fetching = false
        nodes[index].activeSince = now
        feed(index, .localConfig(nodes[index].config))
        feed(index, .engine(ready: nodes[index].engineReady))
        if witnessConfigured { feed(index, .witness(reachable: nodes[index].witnessReachable)) }
        queue.schedule(.tick(node: index, incarnation: incarnation), at: now + tickInterval)
    }

    /// Stops a node. `keepVIP`: the agent died but the address stays on the interface until it restarts.
    func crash(_ index: Int, keepVIP: Bool) {
        guard nodes[index].isRunning else { return }
        nodes[index].election = nil
        nodes[index].isRunning = false
        nodes[index].sealer = nil
        nodes[index].opener = nil
        nodes[index].negotiation = nil
        nodes[index].pending = []
        nodes[index].stalledUntil = nil
        if !keepVIP { nodes[index].vipHeld = false }
    }

    func stall(_ index: Int, for length: Duration) {
        guard nodes[index].isActive(at: now) else { return }
        nodes[index].activeSince = nil
        nodes[index].stalledUntil = now + length
        queue.schedule(.resume(node: index, incarnation: nodes[index].incarnation), at: now + length)
    }

    private func resume(_ index: Int) {
        nodes[index].stalledUntil = nil
        nodes[index].activeSince = now
        // The backlog is processed in arrival order (a socket queue and the runtime's event stream are FIFO);
        // whether the first tick comes before or after it is left to chance.
        let backlog = nodes[index].pending
        nodes[index].pending = []
        let tickFirst = random.chance(0.5)
        if tickFirst { feed(index, .tick) }
        for input in backlog where nodes[index].isRunning {
            switch input {
            case .datagram(let link, let bytes, let forged): receive(index, link: link, bytes: bytes, forged: forged)
            case .local(let input): feed(index, input)
            }
        }
        if !tickFirst && nodes[index].isRunning { feed(index, .tick) }
        if nodes[index].isRunning {
            queue.schedule(.tick(node: index, incarnation: nodes[index].incarnation), at: now + tickInterval)
        }
    }

    /// Gives a local input to a node now, or when it resumes if it is stalled.
    func deliverLocal(_ index: Int, _ input: ElectionInput) {
        guard nodes[index].isRunning else { return }
        if nodes[index].isStalled(at: now) {
            nodes[index].pending.append(.local(input))
        } else {
            feed(index, input)
        }
    }

    private func receive(_ index: Int, link: Int, bytes: [UInt8], forged: Bool) {
        guard var opener = nodes[index].opener else { return }
        if nodes[index].release == .protocolOne, bytes.count > 4, bytes[4] > 1, !forged {
            // The previous release refuses any other version (`unsupported_version`) before reading further.
            report.unreadable += 1
            return
        }
        let result = opener.open(bytes)
        nodes[index].opener = opener
        if forged { report.forgeries += 1 }
        switch result {
        case .success(let envelope):
            if forged {
                violate(
                    .authenticity,
                    "\(nodes[index].name) accepted a forged or replayed datagram from \(envelope.message.sender) "
                        + "boot \(envelope.bootID) seq \(envelope.sequence)"
                )
            }
            nodes[index].remember(accepted: bytes, from: envelope.message.sender, bootID: envelope.bootID)
            if nodes[index].release != .protocolOne {
                nodes[index].negotiation?.heard(envelope, at: .nanoseconds(now.nanoseconds))
            }
            feed(index, .receive(envelope, link: link))
        case .failure:
            if forged { report.forgeriesRejected += 1 }
        }
    }

    /// Steps a node's core and performs the actions, as the agent runtime does.
    func feed(_ index: Int, _ input: ElectionInput) {
        guard var election = nodes[index].election else { return }
        let actions = election.step(input, at: now)
        nodes[index].election = election
        if election.term < nodes[index].lastTerm {
            violate(.termMonotonic, "\(nodes[index].name) term went from \(nodes[index].lastTerm) to \(election.term)")
        }
        nodes[index].lastTerm = election.term
        for action in actions {
            perform(action, at: index)
            if !nodes[index].isRunning { break }
        }
    }

    private func perform(_ action: ElectionAction, at index: Int) {
        switch action {
        case .send(let message, let link):
            send(message, from: index, link: link)
        case .claimVIP(let operation):
            let cause = nodes[index].election?.lastClaimCause ?? .takeover
            if case .plannedHandoff(let from) = cause {
                nodes[index].claimHandoffFrom = from.value
            } else {
                nodes[index].claimHandoffFrom = nil
            }
            if cause == .takeover {
                checkNeedlessTakeover(by: index)
                if checker.firstElectionDone { report.failovers += 1 }
            }
            checker.firstElectionDone = true
            runDriver(index, operation: operation, claim: true)
        case .releaseVIP(let operation):
            runDriver(index, operation: operation, claim: false)
        case .announceVIP:
            break
        case .statusChanged(let transition):
            if transition.from != transition.to {
                report.roleChanges += 1
                if options.profile == .stability && now - .zero > .seconds(2) {
                    violate(
                        .stability,
                        "\(nodes[index].name) \(transition.from) → \(transition.to): \(transition.reason)"
                    )
                }
            }
            note(
                "\(nodes[index].name) \(transition.from) → \(transition.to) term \(transition.term): \(transition.reason)"
            )
        case .commandFinished(_, let outcome):
            if outcome.succeeded && outcome.movedVIP { report.handoffs += 1 }
            note("\(nodes[index].name) command \(outcome.succeeded ? "ok" : "failed"): \(outcome.message)")
        case .shutdownComplete:
            if nodes[index].vipHeld {
                violate(.safety, "\(nodes[index].name) finished a clean shutdown with the VIP still on its interface")
            }
            note("\(nodes[index].name) stopped cleanly")
            nodes[index].saveCheckpoints(at: now)
            crash(index, keepVIP: true)
            let delay = random.duration(.milliseconds(200) ... .seconds(2))
            schedule(at: now + delay, "restart \(nodes[index].name)") { $0.start(index) }
        }
    }

    private func runDriver(_ index: Int, operation: UInt64, claim: Bool) {
        let startAt = max(now, nodes[index].driverFreeAt)
        let done = startAt + random.duration(.microseconds(300) ... .milliseconds(3))
        nodes[index].driverFreeAt = done
        queue.schedule(
            .vipDone(node: index, incarnation: nodes[index].incarnation, operation: operation, claim: claim),
            at: done
        )
    }

    private func vipDone(_ index: Int, operation: UInt64, claim: Bool) {
        if claim, let from = nodes[index].claimHandoffFrom {
            for other in nodes.indices where nodes[other].name.value == from && nodes[other].vipHeld {
                violate(
                    .safety,
                    "planned handoff: \(nodes[index].name) claimed while \(nodes[other].name) still held the VIP"
                )
            }
        }
        nodes[index].vipHeld = claim
        deliverLocal(index, .vip(VIPOperationResult(operation: operation)))
    }

    // MARK: - Network

    private func send(_ message: Message, from index: Int, link: Int) {
        guard var sealer = nodes[index].sealer else { return }
        let expected = nodes.count - 1
        var versions =
            nodes[index].negotiation?.versionsForAll(at: .nanoseconds(now.nanoseconds), expected: expected) ?? [1]
        if options.newestOnlyToUnheard && versions.count > 1 { versions = [versions.max()!] }
        for target in nodes.indices
        where target != index && nodes[target].release == .protocolOne && !versions.contains(1) {
            // Once a peer's current boot was heard lately, it must get a version it reads.
            if let heard = nodes[index].negotiation?.peers[nodes[target].name],
                heard.bootID == nodes[target].sealer?.bootID
            {
                violate(
                    .negotiation,
                    "\(nodes[index].name) sent only version(s) \(versions) to \(nodes[target].name), which it heard "
                        + "speaking \(ProtocolNegotiation.text(heard.versions)) in its current boot"
                )
            }
        }
        for version in versions { transmit(sealer.seal(message, version: version), message, from: index, link: link) }
        nodes[index].sealer = sealer
    }

    private func transmit(_ bytes: [UInt8], _ message: Message, from index: Int, link: Int) {
        guard let sealer = nodes[index].sealer else { return }
        report.datagrams += 1
        if options.profile == .chaos {
            if wireLog.count >= 256 { wireLog.removeFirst(64) }
            wireLog.append((bytes, message.sender, sealer.bootID))
        }
        for target in nodes.indices where target != index {
            let path = links[index][target][link]
            guard path.up, !random.chance(path.loss) else { continue }
            queue.schedule(
                .deliver(node: target, link: link, bytes: bytes, forged: false),
                at: now + baseDelay + random.duration(.zero...jitter)
            )
            if random.chance(duplication) {
                queue.schedule(
                    .deliver(node: target, link: link, bytes: bytes, forged: false),
                    at: now + baseDelay + random.duration(.zero...jitter * 3)
                )
            }
        }
    }
}
