import NIOCore
import Synchronization

/// `maxconn` of `global` or of a frontend, as HAProxy applies it: while as many client connections are open
/// as the limit allows, the listeners it governs stop accepting, and the kernel's listen queue holds the
/// next clients until a connection closes. (Before, the engine accepted and closed them at once.) A batch of
/// accepts already under way when the limit is reached still completes: at most one wake-up's worth
/// (64 connections) over the limit.
final class ConnectionLimiter: Sendable {
    let limit: Int
    private let open = Atomic<Int>(0)
    private struct State {
        var listeners: [any Channel] = []
        var paused = false
        var stopped = false
    }
    private let state = Mutex(State())

    init(limit: Int) { self.limit = limit }

    /// A listener this limit governs.
    func govern(_ listener: any Channel) {
        state.withLock { (shared: inout State) in
            shared.listeners.append(listener)
            if shared.paused { _ = listener.setOption(.autoRead, value: false) }
        }
    }

    func opened() {
        open.add(1, ordering: .relaxed)
        update()
    }

    func closed() {
        open.subtract(1, ordering: .relaxed)
        update()
    }

    /// The engine stops: the listeners stay paused from now on.
    func stop() { state.withLock { (shared: inout State) in shared.stopped = true } }

    private func update() {
        state.withLock { (shared: inout State) in
            let full = open.load(ordering: .relaxed) >= limit
            guard !shared.stopped, full != shared.paused else { return }
            shared.paused = full
            // Under the lock, so a pause and a resume reach each listener's event loop in the order decided.
            for listener in shared.listeners { _ = listener.setOption(.autoRead, value: !full) }
        }
    }
}
