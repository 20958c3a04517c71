import NIOCore
import Synchronization

/// The engine's end of one keep-alive connection to a server. It carries one exchange at a time for an
/// `HTTPFrontendHandler` (attached), and waits in `UpstreamConnections` between exchanges (parked).
/// Reads from the server pause while the client cannot take more (backpressure). It carries bytes: the
/// exchange parses the response itself. The only handler of its channel; it counts the server's bytes.
final class UpstreamHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// Which server this connection goes to.
    let key: UpstreamKey
    /// The exchange using the connection; nil while parked.
    var exchange: HTTPFrontendHandler?
    /// False once the connection must not carry another request.
    var reusable = true
    /// The idle list this connection waits in; nil while attached to an exchange.
    var parkedIn: UpstreamConnections.Idle?
    /// When it was parked (for the idle timeout).
    var parkedAt = NIODeadline.distantPast
    private var context: ChannelHandlerContext?
    private var pendingRead = false
    private let counters: TrafficCounters

    init(key: UpstreamKey, counters: TrafficCounters) {
        self.key = key
        self.counters = counters
    }

    var isActive: Bool { context?.channel.isActive ?? false }
    var isWritable: Bool { context?.channel.isWritable ?? false }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    /// Writes request bytes (flushed by `flush`).
    func send(_ bytes: ByteBuffer) {
        counters.bytesOut.add(bytes.readableBytes, ordering: .relaxed)
        context?.write(wrapOutboundOut(bytes), promise: nil)
    }
    func flush() { context?.flush() }
    func close() {
        reusable = false
        context?.close(promise: nil)
    }

    /// Reads again if a read waited for the client to drain.
    func resumeReading() {
        if pendingRead {
            pendingRead = false
            context?.read()
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let exchange else {
            // A server that talks while no request is outstanding cannot be trusted with the next one.
            close()
            return
        }
        let bytes = unwrapInboundIn(data)
        counters.bytesIn.add(bytes.readableBytes, ordering: .relaxed)
        exchange.upstream(self, received: bytes)
    }

    func channelReadComplete(context: ChannelHandlerContext) { exchange?.upstreamReadComplete() }

    func channelInactive(context: ChannelHandlerContext) {
        reusable = false
        if let parkedIn {
            self.parkedIn = nil
            parkedIn.remove(self)
        }
        if let exchange {
            self.exchange = nil
            exchange.upstreamClosed(self)
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        exchange?.upstreamError = error
        close()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { exchange?.upstreamBecameWritable() }
        context.fireChannelWritabilityChanged()
    }

    func read(context: ChannelHandlerContext) {
        if let exchange, !exchange.clientWritable {
            pendingRead = true
        } else {
            context.read()
        }
    }
}

/// A server of a backend: the key of its idle connections (the pool's identity and the server's index:
/// cheap to hash, unlike the backend's name).
struct UpstreamKey: Hashable, Sendable {
    var pool: ObjectIdentifier
    var server: Int
}
