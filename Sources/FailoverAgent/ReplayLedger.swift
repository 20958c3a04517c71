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

    /// The checkpoints the last run left (empty without a file).
    func load() -> [NodeName: ReplayCheckpoint] {
        guard let path, let text = SmallFile.read(path) else { return [:] }
        return ReplayCheckpoint.decode(text)
    }

    /// Replaces the file's checkpoints (atomically).
    func save(_ checkpoints: [NodeName: ReplayCheckpoint]) {
        guard let path else { return }
        SmallFile.write(path, ReplayCheckpoint.encode(checkpoints))
    }

    /// Writes each set of checkpoints the loop hands over; only the newest waiting one matters.
    func run(_ saves: AsyncStream<[NodeName: ReplayCheckpoint]>) async {
        for await checkpoints in saves { save(checkpoints) }
    }
}
