import FailoverWire
import NIOCore
import NIOPosix

/// Why a fetch brought nothing. Nothing was written.
enum SyncFetchError: Error, CustomStringConvertible, Sendable {
    case connect(String, String)
    case transfer(String, SyncTransferError)
    case silent(String)

    var description: String {
        switch self {
        case .connect(let address, let error): "cannot connect to \(address): \(error)"
        case .transfer(let address, let error): "from \(address): \(error)"
        case .silent(let address): "\(address) sent nothing for 5 s"
        }
    }
}

/// Fetches the primary's bundle over the first link that works (docs/sync.md, "Transfer").
struct SyncFetcher: Sendable {
    /// Per link: the local address to connect from and the peer's transfer address.
    let routes: [(local: SocketAddress, peer: SocketAddress)]
    let requester: String
    let limit: Int
    let files: Int
    let group: any EventLoopGroup

    /// Fetches in transfer `version` (2 only from a peer that advertised it).
    func fetch(serving: UInt64, keyring: Keyring, version: UInt8 = 1) async throws(SyncFetchError) -> SyncOffer {
        var failure = SyncFetchError.connect("the peer", "no link configured")
        for route in routes {
            do {
                return try await fetch(route, serving: serving, keyring: keyring, version: version)
            } catch {
                failure = error
                // An authentic refusal will be the same on every link; a dead link or a tampered path is not.
                if case .transfer(_, let reason) = error, case .refused = reason { break }
            }
        }
        throw failure
    }

    private func fetch(
        _ route: (local: SocketAddress, peer: SocketAddress),
        serving: UInt64,
        keyring: Keyring,
        version: UInt8
    ) async throws(SyncFetchError) -> SyncOffer {
        let address = "\(route.peer)"
        var random = SystemRandomNumberGenerator()
        let session = SyncClientSession(
            keyring: keyring,
            nonce: (0..<16).map { _ in UInt8.random(in: 0...255, using: &random) },
            requester: requester,
            serving: serving,
            limit: limit,
            expectedFiles: files,
            version: version
        )
        let loop = group.next()
        let promise = loop.makePromise(of: SyncOffer.self)
        let channel: any Channel
        do {
            channel = try await ClientBootstrap(group: loop)
                .connectTimeout(.seconds(2))
                .bind(to: (try? SocketAddress(ipAddress: route.local.ipAddress ?? "", port: 0)) ?? route.local)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandlers(
                            IdleStateHandler(readTimeout: .seconds(5)),
                            SyncFetchHandler(session: session, promise: promise, address: address)
                        )
                    }
                }
                .connect(to: route.peer)
                .get()
        } catch {
            promise.fail(SyncFetchError.connect(address, "\(error)"))
            throw .connect(address, "\(error)")
        }
        do {
            let offer = try await promise.futureResult.get()
            try? await channel.close()
            return offer
        } catch let error as SyncFetchError {
            try? await channel.close()
            throw error
        } catch {
            try? await channel.close()
            throw .connect(address, "\(error)")
        }
    }
}

/// One transfer connection on the fetching side: feeds bytes to the session and completes the promise once.
final class SyncFetchHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var session: SyncClientSession
    private let promise: EventLoopPromise<SyncOffer>
    private let address: String
    private var completed = false

    init(session: SyncClientSession, promise: EventLoopPromise<SyncOffer>, address: String) {
        self.session = session
        self.promise = promise
        self.address = address
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !completed else { return }
        let buffer = unwrapInboundIn(data)
        do {
            switch try session.receive(buffer.readableBytesView) {
            case .needMore: break
            case .send(let bytes):
                context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(bytes: bytes)), promise: nil)
            case .done(let offer):
                completed = true
                promise.succeed(offer)
                context.close(promise: nil)
            }
        } catch {
            finish(.transfer(address, error), context: context)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !completed {
            do {
                try session.closed()
            } catch {
                finish(.transfer(address, error), context: context)
            }
        }
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent { finish(.silent(address), context: context) }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        finish(.connect(address, "\(error)"), context: context)
    }

    private func finish(_ error: SyncFetchError, context: ChannelHandlerContext) {
        guard !completed else { return }
        completed = true
        promise.fail(error)
        context.close(promise: nil)
    }
}
