import NIOCore

/// Idle keep-alive connections to the servers, kept per event loop so an exchange reuses a connection of
/// its own loop without locks. A parked connection leaves the list when it closes or is taken; one sweeper
/// per loop closes those parked longer than `idleTimeout` (checked every quarter of it, so a connection
/// waits between 1 and 1.25 × `idleTimeout`). Parking and taking cost no timer: a timer per park, cancelled
/// at the next take, made every request scan the loop's scheduled tasks. At most `perServer` wait per
/// server and loop: a bound on descriptors, not a pool size (HAProxy's `pool-max-conn` is unlimited by
/// default). A cap of 128 made 1 000 keep-alive clients close and reopen most server connections on every
/// request (bench-proxy.sh: 8 000 req/s against HAProxy's 38 000).
final class UpstreamConnections: Sendable {
    /// The idle connections of one event loop.
    final class Idle {
        var connections: [UpstreamKey: [UpstreamHandler]] = [:]
        var sweeping = false

        /// Removes a connection that closed while parked.
        func remove(_ handler: UpstreamHandler) {
            connections[handler.key]?.removeAll { $0 === handler }
        }
    }

    private let perLoop: [ObjectIdentifier: NIOLoopBoundBox<Idle?>]
    let idleTimeout: TimeAmount
    let perServer: Int

    init(group: any EventLoopGroup, idleTimeout: TimeAmount = .seconds(30), perServer: Int = 10_000) {
        var perLoop: [ObjectIdentifier: NIOLoopBoundBox<Idle?>] = [:]
        for loop in group.makeIterator() {
            perLoop[ObjectIdentifier(loop)] = NIOLoopBoundBox.makeEmptyBox(valueType: Idle.self, eventLoop: loop)
        }
        self.perLoop = perLoop
        self.idleTimeout = idleTimeout
        self.perServer = perServer
    }

    /// The idle list of `loop` (created on first use); call it on `loop`.
    func idle(_ loop: any EventLoop) -> Idle? {
        guard let box = perLoop[ObjectIdentifier(loop)] else { return nil }
        if let idle = box.value { return idle }
        let idle = Idle()
        box.value = idle
        return idle
    }

    /// An idle connection to `key` on `loop`, most recently used first (the least likely to have been
    /// closed by the server).
    func take(_ key: UpstreamKey, from idle: Idle) -> UpstreamHandler? {
        while let handler = idle.connections[key]?.popLast() {
            handler.parkedIn = nil
            if handler.isActive && handler.reusable { return handler }
        }
        return nil
    }

    /// Keeps a connection for the next exchange on `loop` (whose list is `idle`); closes it when there is
    /// no room.
    func park(_ handler: UpstreamHandler, in idle: Idle?, on loop: any EventLoop) {
        guard let idle, (idle.connections[handler.key]?.count ?? 0) < perServer else {
            handler.close()
            return
        }
        idle.connections[handler.key, default: []].append(handler)
        handler.parkedIn = idle
        handler.parkedAt = .now()
        if !idle.sweeping {
            idle.sweeping = true
            startSweeper(idle, on: loop)
        }
    }

    private func startSweeper(_ idle: Idle, on loop: any EventLoop) {
        let timeout = idleTimeout
        let period = TimeAmount.nanoseconds(max(timeout.nanoseconds / 4, 1_000_000))
        let bound = NIOLoopBound(idle, eventLoop: loop)
        loop.scheduleRepeatedTask(initialDelay: period, delay: period) { _ in
            let limit = NIODeadline.now() - timeout
            for (_, list) in bound.value.connections {
                // Closing removes the connection from the list (channelInactive); `list` is a copy.
                for handler in list where handler.parkedAt <= limit { handler.close() }
            }
        }
    }
}
