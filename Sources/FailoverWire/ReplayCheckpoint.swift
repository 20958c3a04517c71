/// How far a node's replay protection had got for one sender: the newest boot id and sequence number it
/// accepted. Kept on disk so that a restarted node refuses datagrams its earlier run already saw (captured
/// heartbeats replayed after a restart would otherwise count as a live peer).
public struct ReplayCheckpoint: Hashable, Sendable {
    /// The sender's boot id.
    public var bootID: UInt64
    /// The newest sequence number accepted in that boot.
    public var sequence: UInt64

    /// Creates a checkpoint.
    public init(bootID: UInt64, sequence: UInt64) {
        self.bootID = bootID
        self.sequence = sequence
    }

    /// The checkpoints as text: one line per sender, `NAME BOOT_ID SEQUENCE`, sorted by name.
    public static func encode(_ checkpoints: [NodeName: ReplayCheckpoint]) -> String {
        checkpoints.sorted { $0.key < $1.key }
            .map { "\($0.key) \($0.value.bootID) \($0.value.sequence)\n" }
            .joined()
    }

    /// Reads what ``encode(_:)`` wrote; lines that do not parse are skipped (a damaged file costs the
    /// protection of the senders on those lines, never the start).
    public static func decode(_ text: String) -> [NodeName: ReplayCheckpoint] {
        var result: [NodeName: ReplayCheckpoint] = [:]
        for line in text.split(whereSeparator: \.isNewline) {
            let fields = line.split(separator: " ")
            guard fields.count == 3, let name = NodeName(String(fields[0])),
                let bootID = UInt64(fields[1]), let sequence = UInt64(fields[2])
            else { continue }
            result[name] = ReplayCheckpoint(bootID: bootID, sequence: sequence)
        }
        return result
    }
}
