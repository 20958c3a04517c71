import Dispatch
import FailoverWire

/// The replay checkpoints of this node's earlier runs, in the state directory (`replay-checkpoints`), so a
/// restarted node refuses the datagrams its previous run had accepted: captured heartbeats of a dead primary,
/// replayed at a restarted backup, would otherwise count as a live primary and keep the VIP unheld.
///
/// The loop hands the newest checkpoints over at most once a second and at shutdown; a writer task writes them
/// (the file is small, but a slow disk must never stall the loop). After a kill, datagrams of the last second
/// before the kill could still be replayed once: docs/reliability.md.
struct ReplayLedger: Sendable {
    /// nil: nothing is kept across runs (no state directory).
    let path: String?

    /// The checkpoints the last run left (empty without a file), without those whose boot id lies more than
    /// `tolerance` ahead of the wall clock `nowMicroseconds` (boot ids are their node's start time in µs): a
    /// peer whose clock ran ahead once, then lost its own boot-id file, would otherwise be refused as a
    /// replay of itself by every later run of this node. Those are returned in `dropped`.
    func load(
        nowMicroseconds: UInt64,
        tolerance: UInt64 = 600_000_000
    ) -> (kept: [NodeName: ReplayCheckpoint], dropped: [NodeName: ReplayCheckpoint]) {
        guard let path, let text = SmallFile.read(path) else { return ([:], [:]) }
        let all = ReplayCheckpoint.decode(text)
        let limit = nowMicroseconds &+ tolerance
        return (all.filter { $0.value.bootID <= limit }, all.filter { $0.value.bootID > limit })
    }

    /// Replaces the file's checkpoints (atomically).
    func save(_ checkpoints: [NodeName: ReplayCheckpoint]) {
        guard let path else { return }
        SmallFile.write(path, ReplayCheckpoint.encode(checkpoints))
    }

    /// Writes each set of checkpoints the loop hands over (only the newest waiting one matters), on a thread
    /// of its own: an fsync on a slow disk must not hold one of the threads the agent's tasks share.
    func run(_ saves: AsyncStream<[NodeName: ReplayCheckpoint]>) async {
        let queue = DispatchQueue(label: "failover-agent.replay-ledger")
        for await checkpoints in saves {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                queue.async {
                    save(checkpoints)
                    continuation.resume()
                }
            }
        }
    }
}
