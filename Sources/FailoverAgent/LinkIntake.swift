import Synchronization

/// What one link's socket lets through to the main loop: only datagrams from the link's configured peer
/// address, and only as many as the link's ``DatagramBudget`` allows. The source is checked before the budget
/// is charged, so datagrams from a third address cost the loop nothing and cannot crowd out the peer's.
final class LinkIntake: Sendable {
    /// The link's index.
    let link: Int
    /// The peer's address on this link, as `SocketAddress.ipAddress` spells it.
    let peer: String
    /// The bound on datagrams of this link waiting for the loop.
    let budget: DatagramBudget
    private let unexpectedCount = Atomic<Int>(0)

    init(link: Int, peer: String, budget: DatagramBudget = DatagramBudget()) {
        self.link = link
        self.peer = peer
        self.budget = budget
    }

    /// The verdict on one datagram at the socket.
    enum Verdict: Equatable {
        /// Hand it to the loop (the budget is charged: call ``DatagramBudget/processed()`` once handled).
        case admit
        /// Not from the link's peer address: dropped, counted as `unexpected_source`.
        case unexpectedSource
        /// The loop is behind on this link: dropped, counted as `dropped_backlog`.
        case backlog
    }

    /// Judges a datagram from `source` and charges the budget if it is admitted.
    func admit(from source: String?) -> Verdict {
        guard source == peer else {
            unexpectedCount.add(1, ordering: .relaxed)
            return .unexpectedSource
        }
        return budget.admit() ? .admit : .backlog
    }

    /// Datagrams refused because they came from another address.
    var unexpectedSource: Int { unexpectedCount.load(ordering: .relaxed) }
}
