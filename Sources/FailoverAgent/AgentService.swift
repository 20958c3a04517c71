import CFailoverNet
import ControlProtocol
import FailoverConfig
import FailoverCore
import FailoverWire
import Logging
import NIOCore
import NIOPosix
import Prometheus
import ServiceLifecycle
import SystemdNotify
import UnixSignals

/// Options of `failover-agent run` that are not in the configuration file.
public struct AgentOptions: Sendable {
    /// Where the boot id of the last run is kept (nil: not kept).
    public var stateDirectory: String?
    /// How often the election is ticked.
    public var tickInterval: Duration
    /// The group allowed to send state-changing control commands.
    public var controlGroup: String

    /// Creates options.
    public init(
        stateDirectory: String? = "/var/lib/failover-agent",
        tickInterval: Duration = .milliseconds(10),
        controlGroup: String = "failover-agent"
    ) {
        self.stateDirectory = stateDirectory
        self.tickInterval = tickInterval
        self.controlGroup = controlGroup
    }
}

/// The daemon: owns the election in one task and runs the links, the VIP worker, the announcer, the control
/// socket, the metrics endpoint and the systemd watchdog beside it. A `Service` for swift-service-lifecycle:
/// graceful shutdown (SIGTERM) hands over and releases before `run()` returns.
public struct AgentService: Service {
    let configuration: AgentConfiguration
    let configurationPath: String
    let keyring: Keyring
    let options: AgentOptions
    let registry: PrometheusCollectorRegistry
    let logger: Logger

    /// Creates the service.
    public init(
        configuration: AgentConfiguration,
        configurationPath: String,
        keyring: Keyring,
        options: AgentOptions,
        registry: PrometheusCollectorRegistry,
        logger: Logger
    ) {
        self.configuration = configuration
        self.configurationPath = configurationPath
        self.keyring = keyring
        self.options = options
        self.registry = registry
        self.logger = logger
    }

    public func run() async throws {
        let clock = AgentClock()
        let progress = ProgressMonitor()
        let group = MultiThreadedEventLoopGroup.singleton
        // Unbounded: everything but datagrams is low volume and must never be dropped; datagrams are bounded
        // per link by the link's budget at the socket, charged only for the peer's address.
        let (events, eventSink) = AsyncStream<AgentEvent>.makeStream()
        let intakes = configuration.cluster.links.enumerated().map { LinkIntake(link: $0, peer: $1.peer.description) }
        let (jobs, jobSink) = AsyncStream<VIPJob>.makeStream()
        let (announcements, announceSink) = AsyncStream<String>.makeStream(bufferingPolicy: .bufferingNewest(8))
        // The record of the VIPs this agent added: in the state directory (a killed run's stay known), else the
        // runtime directory.
        let ledgerDirectory =
            options.stateDirectory
            ?? "/" + configuration.controlSocket.split(separator: "/").dropLast().joined(separator: "/")
        let driver = VIPDriver(
            vips: configuration.vips,
            netlink: try RouteNetlink(),
            ledger: VIPLedger(path: "\(ledgerDirectory)/vips-added"),
            logger: logger
        )
        let presence = VIPPresence()
        let announcer = Announcer(vips: configuration.vips, presence: presence, logger: logger)
        let worker = VIPWorker(
            driver: driver,
            announcements: announceSink,
            events: eventSink,
            presence: presence,
            logger: logger
        )
        let bootID = BootIdentity.next(stateFile: options.stateDirectory.map { "\($0)/boot-id" })
        let replayLedger = ReplayLedger(path: options.stateDirectory.map { "\($0)/replay-checkpoints" })
        let (replayCheckpoints, futureCheckpoints) = replayLedger.load(
            nowMicroseconds: UInt64(max(0, fa_wall_nanoseconds() / 1_000))
        )
        for (peer, checkpoint) in futureCheckpoints {
            logger.warning(
                "replay checkpoint from the future dropped: that peer's clock was ahead when it was saved",
                metadata: ["peer": "\(peer)", "boot_id": "\(checkpoint.bootID)"]
            )
        }
        let (replaySaves, replaySaveSink) = AsyncStream<[NodeName: ReplayCheckpoint]>.makeStream(
            bufferingPolicy: .bufferingNewest(1)
        )
        let now = clock.now()
        progress.tickProcessed(at: now)
        progress.heartbeatSent(at: now)
        let peerAddresses = configuration.cluster.links.map { link in
            try? SocketAddress(ipAddress: link.peer.description, port: Int(configuration.cluster.port))
        }
        let advertisement = ProtocolAdvertisement(
            versions: ProtocolAdvertisement.supportedVersions,
            capabilities: .thisBuild,
            product: productVersion
        )
        var loop = AgentLoop(
            configuration: configuration,
            configurationPath: configurationPath,
            election: Election(configuration: configuration.election, bootID: bootID, now: now),
            sealer: DatagramSealer(keyring: keyring, bootID: bootID, advertisement: advertisement),
            opener: DatagramOpener(
                keyring: keyring,
                localName: configuration.node.name,
                checkpoints: replayCheckpoints
            ),
            negotiation: ProtocolNegotiation(
                local: advertisement,
                freshness: configuration.cluster.heartbeatInterval * 3 / 2
            ),
            channels: Array(repeating: nil, count: configuration.cluster.links.count),
            peerAddresses: peerAddresses,
            vipJobs: jobSink,
            announcements: announceSink,
            progress: progress,
            clock: clock,
            logger: logger
        )
        loop.replaySaves = replaySaveSink
        loop.savedCheckpoints = replayCheckpoints
        // No link is bound yet: until one is, the node can hear no peer and must not take the role.
        loop.apply(loop.election.step(.links(bound: 0), at: now))
        logger.notice(
            "starting",
            metadata: [
                "node": "\(configuration.node.name)", "priority": "\(configuration.node.priority)",
                "links": "\(configuration.cluster.links.count)", "key": "\(keyring.signing.fingerprint)",
                "boot_id": "\(bootID)",
            ]
        )
        // A VIP left behind by a killed run goes before anything else happens.
        jobSink.yield(.removeStale)
        // The engine's own user (never root, never the agent's): refused on the control socket.
        let engineUID = EngineLaunch.resolveUser(configuration.engine.user).flatMap { getpwnam($0)?.pointee.pw_uid }
            .flatMap { $0 != 0 && $0 != getuid() ? $0 : nil }
        let control = ControlServer(
            path: configuration.controlSocket,
            group: options.controlGroup,
            engineUID: engineUID,
            eventLoops: group,
            events: eventSink,
            logger: logger
        )
        let controlChannel = try await control.start()
        var metricsChannel: (any Channel)?
        if let endpoint = configuration.metricsListen {
            do {
                metricsChannel = try await MetricsServer(
                    endpoint: endpoint,
                    registry: registry,
                    group: group,
                    logger: logger
                ).start()
            } catch {
                logger.error(
                    "metrics endpoint not started",
                    metadata: [
                        "address": "\(endpoint)", "error": "\(error)",
                        "fix": "set [metrics] listen to a free ADDR:PORT or \"off\"",
                    ]
                )
            }
        }
        let tickInterval = options.tickInterval
        let links = LinkTransport(
            links: configuration.cluster.links,
            port: Int(configuration.cluster.port),
            group: group,
            events: eventSink,
            intakes: intakes,
            logger: logger
        )
        loop.intakes = intakes
        let (engineCommands, engineCommandSink) = AsyncStream<EngineCommand>.makeStream()
        loop.engineCommands = engineCommandSink
        // The engine's notify socket lives beside the control socket (the runtime directory).
        let runtimeDirectory = configuration.controlSocket.split(separator: "/").dropLast().joined(separator: "/")
        let checkedBundles = CheckedBundles()
        let supervisor = EngineSupervisor(
            engine: configuration.engine,
            notifyPath: "/\(runtimeDirectory)/engine-notify.sock",
            pidFile: "/\(runtimeDirectory)/engine.pid",
            group: group,
            events: eventSink,
            progress: progress,
            clock: clock,
            vipAddresses: configuration.vips.map { "\($0.address)" },
            logger: logger,
            checked: checkedBundles
        )
        let (hookQueue, hookSink) = AsyncStream<[String: String]>.makeStream()
        let hooks = HookRunner(hooks: configuration.hooks, node: configuration.node.name.value, queue: hookSink)
        loop.hooks = hooks
        loop.stampFile = StampFile(path: options.stateDirectory.map { "\($0)/config-stamp" })
        let watcher = configuration.engine.config.map { config in
            ConfigWatcher(
                launch: EngineLaunch(engine: configuration.engine, config: config, checked: checkedBundles),
                files: [config] + configuration.engine.syncFiles,
                events: eventSink,
                logger: logger
            )
        }
        // Config sync (docs/sync.md): the transfer server on every link, the worker that fetches and applies.
        let (syncJobQueue, syncJobSink) = AsyncStream<SyncJob>.makeStream()
        let syncedPaths = configuration.engine.config.map { [$0] + configuration.engine.syncFiles } ?? []
        let offerBox = SyncOfferBox(paths: syncedPaths)
        var syncServer: SyncServer?
        var syncWorker: SyncWorker?
        if let config = configuration.engine.config {
            let paths = syncedPaths
            let port = Int(configuration.cluster.port)
            let routes = configuration.cluster.links.compactMap {
                link -> (local: SocketAddress, peer: SocketAddress)? in
                guard let local = try? SocketAddress(ipAddress: link.local.description, port: 0),
                    let peer = try? SocketAddress(ipAddress: link.peer.description, port: port)
                else { return nil }
                return (local, peer)
            }
            let keyBox = KeyringBox(keyring)
            loop.keyringBox = keyBox
            syncServer = SyncServer(
                addresses: configuration.cluster.links.compactMap {
                    try? SocketAddress(ipAddress: $0.local.description, port: port)
                },
                peers: Set(configuration.cluster.links.map { $0.peer.description }),
                keyring: { keyBox.value },
                box: offerBox,
                group: group,
                logger: logger
            )
            syncWorker = SyncWorker(
                fetcher: SyncFetcher(
                    routes: routes,
                    requester: configuration.node.name.value,
                    limit: configuration.engine.syncLimit,
                    files: paths.count,
                    group: group
                ),
                writer: BundleWriter(
                    paths: paths,
                    engineGroup: EngineLaunch.resolveUser(configuration.engine.user).flatMap {
                        getpwnam($0)?.pointee.pw_gid
                    }
                ),
                history: options.stateDirectory.map { ConfigHistory(directory: "\($0)/history", paths: paths) },
                launch: EngineLaunch(engine: configuration.engine, config: config, checked: checkedBundles),
                box: offerBox,
                events: eventSink,
                logger: logger
            )
            loop.syncJobs = syncJobSink
            loop.offerBox = offerBox
        }
        let hookTimeout = configuration.hooks.timeout
        let hookCapabilities = configuration.hooks.capabilities
        await withTaskGroup(of: Void.self) { tasks in
            tasks.addTask { await supervisor.run(commands: engineCommands) }
            if let watcher { tasks.addTask { await watcher.run() } }
            if let syncServer { tasks.addTask { await syncServer.run() } }
            if let syncWorker { tasks.addTask { await syncWorker.run(syncJobQueue) } }
            tasks.addTask {
                await HookRunner.run(hookQueue, timeout: hookTimeout, capabilities: hookCapabilities, logger: logger)
            }
            tasks.addTask { await worker.run(jobs) }
            tasks.addTask { await replayLedger.run(replaySaves) }
            tasks.addTask {
                for await reason in announcements { await announcer.burst(reason: reason) }
            }
            tasks.addTask { await links.bindAll() }
            tasks.addTask {
                while !Task.isCancelled {
                    try? await Task.sleep(for: tickInterval)
                    eventSink.yield(.tick)
                }
            }
            tasks.addTask {
                await Watchdog(progress: progress, clock: clock, logger: logger).run()
            }
            if let witness = configuration.witness {
                tasks.addTask {
                    await WitnessProber(witness: witness, group: group, events: eventSink, logger: logger).run()
                }
            }
            tasks.addTask {
                let hangups = await UnixSignalsSequence(trapping: .sighup)
                for await _ in hangups { eventSink.yield(.reload(reply: nil)) }
            }
            await withGracefulShutdownHandler {
                await loop.run(events)
            } onGracefulShutdown: {
                eventSink.yield(.shutdown)
            }
            // The loop ended: stop the helpers, then make sure no VIP stays behind (a clean stop never leaves
            // it, even when the handoff ran out of time).
            jobSink.finish()
            announceSink.finish()
            engineCommandSink.finish()
            hookSink.finish()
            syncJobSink.finish()
            replaySaveSink.finish()
            tasks.cancelAll()
        }
        // Every helper has ended (the ledger's writer too): the last checkpoints, for the next run.
        replayLedger.save(loop.opener.checkpoints)
        if let failure = await driver.release() {
            logger.error("could not remove the VIP on exit", metadata: ["error": "\(failure)"])
        }
        if let onStop = configuration.hooks.onStop {
            await HookRunner.runOne(
                hooks.environment(
                    path: onStop,
                    role: "stopped",
                    previous: "\(loop.election.role)",
                    reason: "agent stopped",
                    term: loop.election.term,
                    vips: configuration.vips.map { "\($0.address)/\($0.prefixLength)" }
                ),
                timeout: hookTimeout,
                capabilities: hookCapabilities,
                logger: logger
            )
        }
        try? await controlChannel.close()
        try? await metricsChannel?.close()
        unlink(configuration.controlSocket)
        logger.notice("stopped")
    }
}

#if canImport(Glibc)
import Glibc
#endif
