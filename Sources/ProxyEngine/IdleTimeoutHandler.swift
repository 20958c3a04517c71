import NIOCore

/// Closes a TCP-mode connection after `timeout` without a read or a write (`timeout client` / `timeout
/// server`). Cheaper than NIO's `IdleStateHandler` on the data path: a read or a write only stores the time
/// (no promise per write); one scheduled task per connection fires at the earliest possible deadline and
/// re-arms itself at the real one.
final class IdleTimeoutHandler: ChannelDuplexHandler {
    typealias InboundIn = NIOAny
    typealias InboundOut = NIOAny
    typealias OutboundIn = NIOAny
    typealias OutboundOut = NIOAny

    private let timeout: TimeAmount
    private var lastActivity = NIODeadline.now()
    private var task: Scheduled<Void>?

    init(timeout: TimeAmount) { self.timeout = timeout }

    func handlerAdded(context: ChannelHandlerContext) {
        lastActivity = .now()
        if context.channel.isActive { arm(context, at: lastActivity + timeout) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        task?.cancel()
        task = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        lastActivity = .now()
        if task == nil { arm(context, at: lastActivity + timeout) }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        task?.cancel()
        task = nil
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        lastActivity = .now()
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        lastActivity = .now()
        context.write(data, promise: promise)
    }

    private func arm(_ context: ChannelHandlerContext, at deadline: NIODeadline) {
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        task = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
            self.fired(bound.value)
        }
    }

    private func fired(_ context: ChannelHandlerContext) {
        task = nil
        guard context.channel.isActive else { return }
        let deadline = lastActivity + timeout
        if NIODeadline.now() >= deadline {
            context.close(promise: nil)
        } else {
            arm(context, at: deadline)
        }
    }
}
