import CoreMetrics
import FailoverConfig
import Logging
import NIOCore
import NIOPosix
import Synchronization

/// One UDP socket per link, bound to the link's local address; the only place heartbeats touch the network.
struct LinkTransport: Sendable {
    let links: [AgentConfiguration.Link]
    let port: Int
    let group: any EventLoopGroup
    let events: AsyncStream<AgentEvent>.Continuation
    /// One per link, in link order: the source check and the budget of each socket.
    let intakes: [LinkIntake]
    let logger: Logger

    /// Binds every link, retrying each second until its address exists (an interface may come up late).
    func bindAll() async {
        await withTaskGroup(of: Void.self) { tasks in
            for (index, link) in links.enumerated() {
                tasks.addTask { await bind(index, link) }
            }
        }
    }

    private func bind(_ index: Int, _ link: AgentConfiguration.Link) async {
        var attempt = 0
        var closes = 0
        var lastCloseLog: ContinuousClock.Instant?
        while !Task.isCancelled {
            attempt += 1
            do {
                let events = self.events
                let intake = self.intakes[index]
                let logger = self.logger
                let channel = try await DatagramBootstrap(group: group)
                    .channelOption(.socketOption(.so_reuseaddr), value: 1)
                    .channelInitializer { channel in
                        channel.eventLoop.makeCompletedFuture {
                            try channel.pipeline.syncOperations.addHandler(
                                LinkInboundHandler(intake: intake, events: events, logger: logger)
                            )
                        }
                    }
                    .bind(host: link.local.description, port: port)
                    .get()
                if closes == 0 {
                    logger.info(
                        "link bound",
                        metadata: ["link": "\(index)", "local": "\(link.local)", "peer": "\(link.peer)"]
                    )
                }
                events.yield(.linkBound(index, channel))
                // NIO closes a datagram socket on some send errors (EPERM from a firewall rule that drops
                // output, found by scripts/chaos.sh): the link would stay deaf after the rule is gone. Bind
                // it again.
                // Cancellation (the agent stops) closes the socket, which ends this wait.
                await withTaskCancellationHandler {
                    try? await channel.closeFuture.get()
                } onCancel: {
                    channel.close(promise: nil)
                }
                guard !Task.isCancelled else { return }
                closes += 1
                if lastCloseLog.map({ ContinuousClock.now - $0 >= .seconds(10) }) ?? true {
                    lastCloseLog = ContinuousClock.now
                    logger.error(
                        "link socket closed by a send error (a firewall rule?); binding it again",
                        metadata: ["link": "\(index)", "local": "\(link.local)", "closes": "\(closes)"]
                    )
                }
                attempt = 1
                try? await Task.sleep(for: .milliseconds(100))
            } catch {
                if attempt == 1 || attempt % 30 == 0 {
                    logger.error(
                        "cannot bind link; retrying every second",
                        metadata: [
                            "link": "\(index)", "local": "\(link.local):\(port)", "error": "\(error)",
                            "fix": "check that \(link.local) is configured on this host and the port is free",
                        ]
                    )
                }
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }
}

/// Hands every datagram of one link from the link's peer address to the main loop, within the link's budget.
private final class LinkInboundHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>

    let intake: LinkIntake
    var link: Int { intake.link }
    let events: AsyncStream<AgentEvent>.Continuation
    let logger: Logger
    /// Datagrams dropped because the loop's backlog for this link is full (a flood).
    let dropped: Counter
    /// Datagrams dropped because they came from another address than the link's peer.
    let unexpected: Counter
    private let lastLogged = Mutex<ContinuousClock.Instant?>(nil)
    private let lastSourceLogged = Mutex<ContinuousClock.Instant?>(nil)

    init(intake: LinkIntake, events: AsyncStream<AgentEvent>.Continuation, logger: Logger) {
        self.dropped = Counter(
            label: "failover_datagrams_rejected_total",
            dimensions: [("link", "\(intake.link)"), ("reason", "dropped_backlog")]
        )
        self.unexpected = Counter(
            label: "failover_datagrams_rejected_total",
            dimensions: [("link", "\(intake.link)"), ("reason", "unexpected_source")]
        )
        self.intake = intake
        self.events = events
        self.logger = logger
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        let source = envelope.remoteAddress.ipAddress
        switch intake.admit(from: source) {
        case .admit:
            let bytes = Array(envelope.data.readableBytesView.prefix(4_096))
            events.yield(.datagram(bytes, link: link))
        case .backlog:
            dropped.increment()
        case .unexpectedSource:
            unexpected.increment()
            if Self.due(lastSourceLogged) {
                logger.warning(
                    "datagram rejected",
                    metadata: [
                        "link": "\(link)", "reason": "unexpected_source",
                        "detail": "datagram from \(source ?? "?"), expected \(intake.peer)",
                        "total": "\(intake.unexpectedSource)",
                    ]
                )
            }
        }
    }

    /// Whether 10 s passed since the last log line of this kind (and if so, notes this one).
    private static func due(_ last: borrowing Mutex<ContinuousClock.Instant?>) -> Bool {
        let now = ContinuousClock.now
        return last.withLock { last in
            guard last.map({ now - $0 >= .seconds(10) }) ?? true else { return false }
            last = now
            return true
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // ICMP errors (peer port unreachable while it restarts) and refused sends (a firewall rule) surface
        // here; they are not fatal. Logged at most every 10 s per link.
        if Self.due(lastLogged) {
            logger.warning("link socket error", metadata: ["link": "\(link)", "error": "\(error)"])
        }
    }
}
