import NIOCore
import Synchronization

/// Joins two channels: what one reads the other writes, with backpressure (a side stops reading while its
/// partner cannot write) and half-close (an end of input on one side shuts the other's output). Each side
/// counts the bytes of its connection and closes it after its idle timeout (`timeout client` / `timeout
/// server`: no read and no write for that long). Both are done here rather than in handlers of their own:
/// each handler is one hop more per read and per write.
final class GlueHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var partner: GlueHandler?
    private var context: ChannelHandlerContext?
    private var pendingRead = false
    private let counters: TrafficCounters
    private let idleTimeout: TimeAmount?
    /// The last read or write (only kept with an idle timeout).
    private var lastActivity = NIODeadline.now()
    /// One scheduled task per connection: it fires at the earliest possible deadline and re-arms itself at
    /// the real one, so a read or a write only stores the time.
    private var timer: Scheduled<Void>?

    private init(counters: TrafficCounters, idleTimeout: TimeAmount?) {
        self.counters = counters
        self.idleTimeout = idleTimeout
    }

    /// Two handlers that forward to each other; the first counts into `first` and closes its connection after
    /// `firstTimeout` idle, the second likewise with `second` and `secondTimeout`.
    static func matchedPair(
        counting first: TrafficCounters,
        idle firstTimeout: TimeAmount?,
        and second: TrafficCounters,
        idle secondTimeout: TimeAmount?
    ) -> (GlueHandler, GlueHandler) {
        let one = GlueHandler(counters: first, idleTimeout: firstTimeout)
        let two = GlueHandler(counters: second, idleTimeout: secondTimeout)
        one.partner = two
        two.partner = one
        return (one, two)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if let idleTimeout {
            lastActivity = .now()
            arm(context, at: lastActivity + idleTimeout)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        partner = nil
        timer?.cancel()
        timer = nil
    }

    private func arm(_ context: ChannelHandlerContext, at deadline: NIODeadline) {
        timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
            self.timer = nil
            guard let idleTimeout = self.idleTimeout, let context = self.context, context.channel.isActive else {
                return
            }
            let deadline = self.lastActivity + idleTimeout
            if NIODeadline.now() >= deadline {
                context.close(promise: nil)
            } else {
                self.arm(context, at: deadline)
            }
        }
    }

    private func partnerWrite(_ buffer: ByteBuffer) {
        if idleTimeout != nil { lastActivity = .now() }
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
        if idleTimeout != nil { lastActivity = .now() }
        counters.bytesIn.add(buffer.readableBytes, ordering: .relaxed)
        partner?.partnerWrite(buffer)
    }

    func channelReadComplete(context: ChannelHandlerContext) { partner?.partnerFlush() }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        partner?.partnerCloseFull()
    }

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
