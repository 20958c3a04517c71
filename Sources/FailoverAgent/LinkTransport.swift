import FailoverConfig
import Logging
import NIOCore
import NIOPosix

/// One UDP socket per link, bound to the link's local address; the only place heartbeats touch the network.
struct LinkTransport: Sendable {
    let links: [AgentConfiguration.Link]
    let port: Int
    let group: any EventLoopGroup
    let events: AsyncStream<AgentEvent>.Continuation
    let budget: DatagramBudget
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
        while !Task.isCancelled {
            attempt += 1
            do {
                let events = self.events
                let budget = self.budget
                let channel = try await DatagramBootstrap(group: group)
                    .channelOption(.socketOption(.so_reuseaddr), value: 1)
                    .channelInitializer { channel in
                        channel.eventLoop.makeCompletedFuture {
                            try channel.pipeline.syncOperations.addHandler(
                                LinkInboundHandler(link: index, events: events, budget: budget)
                            )
                        }
                    }
                    .bind(host: link.local.description, port: port)
                    .get()
                logger.info(
                    "link bound",
                    metadata: ["link": "\(index)", "local": "\(link.local)", "peer": "\(link.peer)"]
                )
                events.yield(.linkBound(index, channel))
                return
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

/// Hands every datagram of one link to the main loop, with its source address.
private final class LinkInboundHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>

    let link: Int
    let events: AsyncStream<AgentEvent>.Continuation
    let budget: DatagramBudget

    init(link: Int, events: AsyncStream<AgentEvent>.Continuation, budget: DatagramBudget) {
        self.link = link
        self.events = events
        self.budget = budget
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        guard budget.admit() else { return }
        let bytes = Array(envelope.data.readableBytesView.prefix(4_096))
        events.yield(.datagram(bytes, link: link, source: envelope.remoteAddress.ipAddress ?? "?"))
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // ICMP errors (peer port unreachable while it restarts) surface here; they are not fatal.
    }
}
