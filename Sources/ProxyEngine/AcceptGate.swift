import NIOCore

/// The first handler of a listener's pipeline, in front of NIO's accept handler: an accepted connection goes
/// on to be served only with a slot of every limit governing the listener (``ConnectionLimiter``); otherwise
/// it waits here, accepted but unserved, and the listener stops accepting. When a slot frees, the waiting
/// connections go first (in accept order), then the listener accepts again.
///
/// NIO accepts up to `maxMessagesPerRead` connections per wake-up without looking at `autoRead` in between;
/// without the gate, a full engine served that batch anyway and ran out of descriptors for its server
/// connections (503s). With it, none is served beyond the limit; at most one batch of accepted, unserved
/// sockets waits per listener (``DescriptorBudget`` keeps descriptors for them). When the engine stops (a
/// reload), the connections waiting are served by it, as part of its drain. Waiting connections go first
/// within their listener; across listeners a freed slot goes to whichever gate runs first.
final class AcceptGate: ChannelInboundHandler {
    typealias InboundIn = any Channel

    /// What a limit may do to the gate from any thread: each call hops to the listener's event loop.
    struct Handle: Sendable {
        let gate: NIOLoopBound<AcceptGate>

        /// Stops the listener accepting.
        func pause() {
            let gate = self.gate
            gate.eventLoop.execute { gate.value.setAccepting(false) }
        }

        /// A slot freed: serve the waiting connections, then accept again if every limit allows.
        func wake() {
            let gate = self.gate
            gate.eventLoop.execute { gate.value.admitWaiting() }
        }

        /// The engine stops: serve every waiting connection whatever the limits.
        func flush() {
            let gate = self.gate
            gate.eventLoop.execute { gate.value.admitAll() }
        }
    }

    private let limits: [ConnectionLimiter]
    private var waiting: [(channel: any Channel, data: NIOAny)] = []
    private var context: ChannelHandlerContext?

    init(limits: [ConnectionLimiter]) { self.limits = limits }

    /// The handle for `limits`, once the gate is in a pipeline on `eventLoop`.
    func handle(on eventLoop: any EventLoop) -> Handle { Handle(gate: NIOLoopBound(self, eventLoop: eventLoop)) }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    func handlerRemoved(context: ChannelHandlerContext) {
        // The listener closes: connections still waiting are closed (a reload's new engine has its own).
        for entry in waiting { entry.channel.close(promise: nil) }
        waiting = []
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let channel = unwrapInboundIn(data)
        if waiting.isEmpty && acquireAll() {
            pass(channel, data, context: context)
        } else {
            waiting.append((channel, data))
            setAccepting(false)
        }
    }

    /// Takes a slot of every limit, or none: reserves each, then confirms them all (see
    /// ``ConnectionLimiter/tryReserve()`` for why in two steps).
    private func acquireAll() -> Bool {
        for (index, limit) in limits.enumerated() where !limit.tryReserve() {
            for taken in limits[..<index] { taken.cancel() }
            return false
        }
        for limit in limits { limit.confirm() }
        return true
    }

    private func pass(_ channel: any Channel, _ data: NIOAny, context: ChannelHandlerContext) {
        let limits = self.limits
        channel.closeFuture.whenComplete { _ in for limit in limits { limit.release() } }
        context.fireChannelRead(data)
    }

    private func admitWaiting() {
        guard let context else { return }
        while let first = waiting.first {
            guard acquireAll() else { return }
            waiting.removeFirst()
            pass(first.channel, first.data, context: context)
        }
        if limits.allSatisfy({ !$0.isPaused }) { setAccepting(true) }
    }

    private func admitAll() {
        guard let context else { return }
        let waiting = self.waiting
        self.waiting = []
        for entry in waiting {
            for limit in limits { limit.force() }
            pass(entry.channel, entry.data, context: context)
        }
    }

    private func setAccepting(_ on: Bool) {
        guard let context else { return }
        context.channel.setOption(.autoRead, value: on).whenComplete { _ in }
    }
}
