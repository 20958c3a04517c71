import CoreMetrics
import NIOCore
import Synchronization

/// Bounds one of the agent's listeners (metrics, control, sync) so that no local user, and no peer
/// address, can hold the agent's descriptors: at most `limit` connections at once (one more is closed at
/// accept and counted), and each connection is closed `deadline` after its accept whatever it sends, so a
/// trickle of bytes cannot keep it open (an idle timer it could reset). The limits are far below the
/// descriptor limit, which keeps descriptors free for what failover needs: a VIP claim, a hook, the
/// engine's restart.
final class ListenerLimit: Sendable {
    let name: String
    let limit: Int
    let deadline: TimeAmount
    private let open = Atomic<Int>(0)

    init(name: String, limit: Int, deadline: TimeAmount) {
        self.name = name
        self.limit = limit
        self.deadline = deadline
    }

    /// Connections open now.
    var current: Int { open.load(ordering: .relaxed) }

    /// Admits a new connection (from its channel initializer), or closes it when the listener is full.
    /// Returns whether it was admitted.
    func admit(_ channel: any Channel) -> Bool {
        let count = open.add(1, ordering: .relaxed).newValue
        guard count <= limit else {
            open.subtract(1, ordering: .relaxed)
            Counter(label: "failover_listener_refused_total", dimensions: [("listener", name), ("reason", "full")])
                .increment()
            channel.close(promise: nil)
            return false
        }
        let name = self.name
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
            self.open.subtract(1, ordering: .relaxed)
        }
        return true
    }
}
