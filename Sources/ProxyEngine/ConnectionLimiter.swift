import NIOCore
import Synchronization

/// `maxconn` of `global` or of a frontend, as HAProxy applies it: a connection is served only while fewer
/// than `limit` are open. Listeners take a slot per accepted connection (``AcceptGate``) and give it back
/// when it closes. When the limit is reached, every governed listener stops accepting and the kernel's listen
/// queue holds the next clients; the few a listener had already accepted in the same wake-up wait in its gate,
/// unserved, and go first when a slot frees (HAProxy checks the limit before each accept, NIO accepts a batch).
final class ConnectionLimiter: Sendable {
    let limit: Int
    private let open = Atomic<Int>(0)
    private struct State {
        var gates: [AcceptGate.Handle] = []
        var paused = false
        var stopped = false
    }
    private let state = Mutex(State())

    init(limit: Int) { self.limit = limit }

    /// A listener's gate this limit governs.
    func govern(_ gate: AcceptGate.Handle) {
        state.withLock { (shared: inout State) in
            shared.gates.append(gate)
            if shared.paused { gate.pause() }
        }
    }

    /// Connections holding a slot.
    var count: Int { open.load(ordering: .relaxed) }

    /// Whether the listeners are held back by this limit.
    var isPaused: Bool { state.withLock { $0.paused } }

    /// Reserves a slot (the first half of taking one, see ``AcceptGate``), or returns false when the limit is
    /// reached (the listeners are then paused). A reservation has no other effect until ``confirm()``; a
    /// gate that cannot reserve every limit it needs gives the others back with ``cancel()``, which wakes
    /// nobody unless the limit was paused: taking and giving back must not wake the gate that did it, or a full
    /// frontend limit behind a nearly full global one spins the event loops.
    func tryReserve() -> Bool {
        var current = open.load(ordering: .relaxed)
        while current < limit {
            let (exchanged, original) = open.compareExchange(
                expected: current,
                desired: current + 1,
                ordering: .relaxed
            )
            if exchanged { return true }
            current = original
        }
        pause()
        return false
    }

    /// Every limit granted its slot: a limit now full pauses its listeners.
    func confirm() {
        if open.load(ordering: .relaxed) >= limit { pause() }
    }

    /// Gives back a reservation that was not confirmed.
    func cancel() {
        open.subtract(1, ordering: .relaxed)
        resume()
    }

    /// Takes a slot whatever the limit (connections already accepted by a stopping engine are served).
    func force() { open.add(1, ordering: .relaxed) }

    /// Gives a slot back (the connection closed); a paused limit wakes its gates.
    func release() {
        open.subtract(1, ordering: .relaxed)
        resume()
    }

    /// The engine stops: the listeners stay paused from now on, and the connections its gates hold are served
    /// (they were accepted: closing them would drop clients that a reload promises to keep).
    func stop() {
        let gates = state.withLock { (shared: inout State) in
            shared.stopped = true
            let gates = shared.gates
            shared.gates = []
            return gates
        }
        for gate in gates { gate.flush() }
    }

    private func pause() {
        state.withLock { (shared: inout State) in
            guard !shared.paused, !shared.stopped else { return }
            shared.paused = true
            // Under the lock, so a pause and a wake reach each listener's event loop in the order decided.
            for gate in shared.gates { gate.pause() }
        }
        // A slot freed between the failed take and the pause would otherwise wake nobody.
        resume()
    }

    private func resume() {
        state.withLock { (shared: inout State) in
            guard shared.paused, !shared.stopped, open.load(ordering: .relaxed) < limit else { return }
            shared.paused = false
            for gate in shared.gates { gate.wake() }
        }
    }
}
