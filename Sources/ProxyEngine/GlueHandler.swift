import NIOCore
import Synchronization

/// Joins two channels: what one reads the other writes, with backpressure (a side stops reading while its
/// partner cannot write) and half-close (an end of input on one side shuts the other's output). Each side
/// counts the bytes of its connection (TCP mode has no separate counting handler: one hop less per read and
/// per write).
final class GlueHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var partner: GlueHandler?
    private var context: ChannelHandlerContext?
    private var pendingRead = false
    private let counters: TrafficCounters

    private init(counters: TrafficCounters) { self.counters = counters }

    /// Two handlers that forward to each other; the first counts into `first`, the second into `second`.
    static func matchedPair(counting first: TrafficCounters, and second: TrafficCounters) -> (GlueHandler, GlueHandler)
    {
        let one = GlueHandler(counters: first)
        let two = GlueHandler(counters: second)
        one.partner = two
        two.partner = one
        return (one, two)
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        partner = nil
    }

    private func partnerWrite(_ buffer: ByteBuffer) {
        counters.bytesOut.add(buffer.readableBytes, ordering: .relaxed)
        context?.write(wrapOutboundOut(buffer), promise: nil)
    }
    private func partnerFlush() { context?.flush() }
    private func partnerWriteEOF() { context?.close(mode: .output, promise: nil) }
    private func partnerCloseFull() { context?.close(promise: nil) }
    private var partnerWritable: Bool { context?.channel.isWritable ?? false }

    private func partnerBecameWritable() {
        if pendingRead {
            pendingRead = false
            context?.read()
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        counters.bytesIn.add(buffer.readableBytes, ordering: .relaxed)
        partner?.partnerWrite(buffer)
    }

    func channelReadComplete(context: ChannelHandlerContext) { partner?.partnerFlush() }

    func channelInactive(context: ChannelHandlerContext) { partner?.partnerCloseFull() }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, case .inputClosed = event {
            partner?.partnerWriteEOF()
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) { context.close(promise: nil) }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { partner?.partnerBecameWritable() }
    }

    func read(context: ChannelHandlerContext) {
        if let partner, partner.partnerWritable {
            context.read()
        } else {
            pendingRead = true
        }
    }
}
