import CoreMetrics
import FailoverWire
import Logging
import NIOCore
import NIOPosix
import Synchronization

/// What this node offers to a fetching peer: set by the main loop (stamp, bytes, role) and by the sync worker
/// (ancestors), read by the transfer server's connections.
final class SyncOfferBox: Sendable {
    struct Served: Sendable {
        var stamp: ConfigStamp
        var bundle: ConfigBundle
    }

    private let served = Mutex<Served?>(nil)
    private let primary = Mutex(false)
    private let ancestors = Mutex<[[UInt8]]>([])
    /// The served files' paths, whose modes travel in transfer version 2.
    let paths: [String]

    init(paths: [String] = []) { self.paths = paths }

    func set(stamp: ConfigStamp, bundle: ConfigBundle) {
        served.withLock { $0 = Served(stamp: stamp, bundle: bundle) }
    }

    func set(primary value: Bool) { primary.withLock { $0 = value } }

    func set(ancestors hashes: [[UInt8]]) { ancestors.withLock { $0 = hashes } }

    /// The offer, or why there is none; `withModes` adds the files' modes as they are now (transfer version 2).
    func offer(withModes: Bool = false) -> Result<SyncOffer, SyncRefusal> {
        guard let served = served.withLock({ $0 }) else { return .failure(SyncRefusal("no valid config yet")) }
        guard primary.withLock({ $0 }) else { return .failure(SyncRefusal("not primary: fetch from the primary")) }
        var modes: [UInt16]?
        if withModes, paths.count == served.bundle.files.count {
            modes = BundleWriter.modes(of: paths)
        }
        return .success(
            SyncOffer(stamp: served.stamp, bundle: served.bundle, ancestors: ancestors.withLock { $0 }, modes: modes)
        )
    }
}

struct SyncRefusal: Error {
    var reason: String
    init(_ reason: String) { self.reason = reason }
}

/// The config-sync transfer server: TCP on each link's local address at `cluster.port`, one short connection
/// per fetch (docs/sync.md). Only the configured peer addresses may connect; every frame is authenticated
/// by `SyncServerSession`.
struct SyncServer: Sendable {
    let addresses: [SocketAddress]
    let peers: Set<String>
    let keyring: @Sendable () -> Keyring
    let box: SyncOfferBox
    let group: any EventLoopGroup
    let logger: Logger

    /// Binds every address; one that cannot be bound is logged (the others still serve) and retried.
    func run() async {
        var channels: [any Channel] = []
        var pending = addresses
        // Bounded: after an hour of failures the address is given up, and the log says so.
        for attempt in 0..<3_600 where !pending.isEmpty && !Task.isCancelled {
            var still: [SocketAddress] = []
            for address in pending {
                do {
                    channels.append(try await bind(address))
                    logger.info("config sync listening", metadata: ["address": "\(address)"])
                } catch {
                    if attempt == 0 || attempt % 30 == 0 {
                        logger.error(
                            "config sync cannot listen; retrying",
                            metadata: ["address": "\(address)", "error": "\(error)"]
                        )
                    }
                    still.append(address)
                }
            }
            pending = still
            if !pending.isEmpty { try? await Task.sleep(for: .seconds(1)) }
        }
        for address in pending where !Task.isCancelled {
            logger.critical(
                "config sync gave up listening after an hour; restart the agent once the address is free",
                metadata: ["address": "\(address)"]
            )
        }
        while !Task.isCancelled { try? await Task.sleep(for: .seconds(3_600)) }
        for channel in channels { try? await channel.close() }
    }

    /// Binds one address and serves on it until the channel is closed.
    func bind(_ address: SocketAddress) async throws -> any Channel {
        let peers = self.peers
        let keyring = self.keyring
        let box = self.box
        let logger = self.logger
        // Only the peer's addresses get this far: 8 transfers at once, each done within 30 s of its accept,
        // however slowly its bytes come (a trickle reset the idle timer that stood here before).
        let limit = ListenerLimit(name: "sync", limit: 8, deadline: .seconds(30))
        return try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                guard let remote = channel.remoteAddress?.ipAddress, peers.contains(remote) else {
                    Counter(
                        label: "failover_sync_requests_refused_total",
                        dimensions: [("reason", "unexpected_source")]
                    )
                    .increment()
                    logger.warning(
                        "config sync connection refused: not a configured peer address",
                        metadata: ["remote": "\(channel.remoteAddress.map { "\($0)" } ?? "?")"]
                    )
                    return channel.close()
                }
                guard limit.admit(channel) else { return channel.eventLoop.makeSucceededVoidFuture() }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers(
                        IdleStateHandler(readTimeout: .seconds(10)),
                        SyncServerHandler(keyring: keyring(), box: box, logger: logger)
                    )
                }
            }
            .bind(to: address)
            .get()
    }
}

/// One transfer connection on the serving side.
final class SyncServerHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var session: SyncServerSession
    private let box: SyncOfferBox
    private let logger: Logger
    private var answered = false

    init(keyring: Keyring, box: SyncOfferBox, logger: Logger) {
        var random = SystemRandomNumberGenerator()
        session = SyncServerSession(
            keyring: keyring,
            nonce: (0..<16).map { _ in UInt8.random(in: 0...255, using: &random) }
        )
        self.box = box
        self.logger = logger
    }

    func channelActive(context: ChannelHandlerContext) {
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(bytes: session.hello())), promise: nil)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !answered else { return }
        let buffer = unwrapInboundIn(data)
        let request: SyncRequest?
        do {
            request = try session.receive(buffer.readableBytesView)
        } catch {
            let label = error.label
            Counter(label: "failover_sync_requests_refused_total", dimensions: [("reason", label)]).increment()
            logger.warning(
                "config sync request refused",
                metadata: ["remote": "\(context.remoteAddress.map { "\($0)" } ?? "?")", "error": "\(error)"]
            )
            context.close(promise: nil)
            return
        }
        guard let request else { return }
        answered = true
        let frames: [[UInt8]]
        switch box.offer(withModes: request.version >= 2) {
        case .success(let offer):
            frames = session.response(offer)
            logger.info(
                "config sync: sending",
                metadata: [
                    "to": "\(request.requester)", "generation": "\(offer.stamp.generation)",
                    "bytes": "\(offer.bundle.byteCount)", "transfer_version": "\(request.version)",
                ]
            )
        case .failure(let refusal):
            frames = [session.refusal(refusal.reason)]
        }
        for frame in frames.dropLast() {
            context.write(wrapOutboundOut(context.channel.allocator.buffer(bytes: frame)), promise: nil)
        }
        let last = context.channel.allocator.buffer(bytes: frames.last!)
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(last)).whenComplete { _ in channel.close(promise: nil) }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent { context.close(promise: nil) }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

/// The current keyring, shared with the transfer server so a reload's new key applies to the next connection.
final class KeyringBox: Sendable {
    private let keyring: Mutex<Keyring>

    init(_ keyring: Keyring) { self.keyring = Mutex(keyring) }

    var value: Keyring {
        get { keyring.withLock { $0 } }
        set { keyring.withLock { $0 = newValue } }
    }
}
