import Synchronization

/// Bounds how many received datagrams of one link wait for the main loop. Past the bound, new datagrams of that
/// link are dropped at the socket (and counted), so a flood can neither exhaust memory nor push operator
/// commands or VIP results out of the loop's queue, which is unbounded for everything else. Each link has its
/// own budget, so a flood on one link never drops the heartbeats of another.
final class DatagramBudget: Sendable {
    /// Datagrams allowed to wait at once.
    let limit: Int
    private let pending = Atomic<Int>(0)
    private let droppedCount = Atomic<Int>(0)

    init(limit: Int = 1_024) { self.limit = limit }

    /// Takes a slot for one datagram; false when the loop is that far behind (the datagram is dropped).
    func admit() -> Bool {
        let (before, _) = pending.add(1, ordering: .relaxed)
        if before >= limit {
            pending.subtract(1, ordering: .relaxed)
            droppedCount.add(1, ordering: .relaxed)
            return false
        }
        return true
    }

    /// Gives the slot back once the loop processed the datagram.
    func processed() { pending.subtract(1, ordering: .relaxed) }

    /// Datagrams dropped because the loop was behind.
    var dropped: Int { droppedCount.load(ordering: .relaxed) }
}
