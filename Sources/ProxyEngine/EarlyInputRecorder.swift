import NIOCore

/// Holds what a TCP client sends (data, or the end of its input) while the engine is still connecting to a
/// server, and hands it to the glue once it is there: a client that connects, sends and shuts its side at
/// once (or only connects and closes) would otherwise leave an end of input nobody saw, and a connection
/// that never closes.
final class EarlyInputRecorder: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny

    private var reads: [NIOAny] = []
    private var inputClosed = false
    private let onActive: (@Sendable () -> Void)?

    /// `onActive` runs once the channel is active (the client side starts connecting to a server then).
    init(onActive: (@Sendable () -> Void)?) { self.onActive = onActive }

    private var started = false

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { start() }
    }

    func channelActive(context: ChannelHandlerContext) {
        context.fireChannelActive()
        start()
    }

    private func start() {
        guard !started else { return }
        started = true
        onActive?()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) { reads.append(data) }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, case .inputClosed = event {
            inputClosed = true
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    /// Passes on what was held, then leaves the pipeline.
    func replay(_ context: ChannelHandlerContext) {
        for read in reads { context.fireChannelRead(read) }
        if !reads.isEmpty { context.fireChannelReadComplete() }
        reads = []
        if inputClosed { context.fireUserInboundEventTriggered(ChannelEvent.inputClosed) }
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }
}
