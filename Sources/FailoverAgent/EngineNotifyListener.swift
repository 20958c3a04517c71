import Logging
import NIOCore
import NIOPosix

#if canImport(Glibc)
import Glibc
#endif

/// The agent's own sd_notify socket for the engine it supervises: the engine gets `NOTIFY_SOCKET` pointing
/// here and says `READY=1`, `RELOADING=1`, `STOPPING=1` as it would to systemd (HAProxy does with `-Ws`,
/// `failover-agent proxy` does too).
struct EngineNotifyListener {
    let path: String
    let group: any EventLoopGroup

    /// Binds the socket; every datagram's text goes to `messages`.
    func start(_ messages: AsyncStream<String>.Continuation) async throws -> any Channel {
        unlink(path)
        return try await DatagramBootstrap(group: group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(NotifyHandler(messages: messages))
                }
            }
            .bind(unixDomainSocketPath: path)
            .get()
    }
}

private final class NotifyHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    let messages: AsyncStream<String>.Continuation

    init(messages: AsyncStream<String>.Continuation) { self.messages = messages }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var envelope = unwrapInboundIn(data)
        if let text = envelope.data.readString(length: min(envelope.data.readableBytes, 4_096)) {
            messages.yield(text)
        }
    }
}

/// One TCP connect to the engine's listener, within `timeout`.
struct EngineProbe: Sendable {
    let host: String
    let port: Int
    let group: any EventLoopGroup

    func attempt(timeout: TimeAmount) async -> Bool {
        do {
            let channel = try await ClientBootstrap(group: group)
                .connectTimeout(timeout)
                .connect(host: host, port: port)
                .get()
            try? await channel.close()
            return true
        } catch {
            return false
        }
    }
}
