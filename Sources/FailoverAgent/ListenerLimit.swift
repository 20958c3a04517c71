import CoreMetrics
import NIOCore
import Synchronization

/// Bounds one of the agent's listeners (metrics, control, sync) so that no local user, and no peer
/// address, can hold the agent's descriptors: at most `limit` connections at once and `perSource` from one
/// source (a uid on the control socket, an address elsewhere); one more is closed at accept and counted. Each
/// connection is closed `deadline` after its accept whatever it sends, so a trickle of bytes cannot keep it
/// open (an idle timer it could reset). The limits are far below the descriptor limit, which keeps
/// descriptors free for what failover needs: a VIP claim, a hook, the engine's restart.
final class ListenerLimit: Sendable {
    let name: String
    let limit: Int
    let perSource: Int
    let deadline: TimeAmount
    private let open = Mutex<(total: Int, bySource: [String: Int])>((0, [:]))

    init(name: String, limit: Int, perSource: Int? = nil, deadline: TimeAmount) {
        self.name = name
        self.limit = limit
        self.perSource = perSource ?? limit
        self.deadline = deadline
    }

    /// Connections open now.
    var current: Int { open.withLock { $0.total } }

    /// Admits a new connection from `source` (from its channel initializer), or closes it when the listener,
    /// or that source's share of it, is full. Returns whether it was admitted.
    func admit(_ channel: any Channel, source: String = "") -> Bool {
        let admitted = open.withLock { (state: inout (total: Int, bySource: [String: Int])) -> Bool in
            let fromSource = state.bySource[source, default: 0]
            guard state.total < limit, fromSource < perSource else { return false }
            state.total += 1
            state.bySource[source] = fromSource + 1
            return true
        }
        let name = self.name
        guard admitted else {
            Counter(label: "failover_listener_refused_total", dimensions: [("listener", name), ("reason", "full")])
                .increment()
            channel.close(promise: nil)
            return false
        }
        let expiry = channel.eventLoop.scheduleTask(in: deadline) {
            Counter(
                label: "failover_listener_refused_total",
                dimensions: [("listener", name), ("reason", "deadline")]
            )
            .increment()
            channel.close(promise: nil)
        }
        channel.closeFuture.whenComplete { _ in
            expiry.cancel()
            self.open.withLock { (state: inout (total: Int, bySource: [String: Int])) in
                state.total -= 1
                let left = state.bySource[source, default: 1] - 1
                state.bySource[source] = left > 0 ? left : nil
            }
        }
        return true
    }
}
