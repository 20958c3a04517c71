/// The receiving side of the protocol: authenticates datagrams and refuses replays, per sender.
///
/// Only authenticated datagrams create replay state, so its size is bounded by the number of key holders.
public struct DatagramOpener: Sendable {
    /// The keys that verify.
    public var keyring: Keyring
    /// This node's name: datagrams carrying it are refused.
    public let localName: NodeName
    private var windows: [NodeName: ReplayWindow] = [:]

    /// Creates an opener for a node. `checkpoints` (from ``checkpoints`` of an earlier run, kept on disk)
    /// restore the replay windows, so a restarted node refuses what its previous run had already seen.
    public init(keyring: Keyring, localName: NodeName, checkpoints: [NodeName: ReplayCheckpoint] = [:]) {
        self.keyring = keyring
        self.localName = localName
        for (name, checkpoint) in checkpoints where name != localName {
            windows[name] = ReplayWindow(checkpoint: checkpoint)
        }
    }

    /// The newest boot id and sequence number accepted from each sender: what a restart must not accept again.
    public var checkpoints: [NodeName: ReplayCheckpoint] { windows.mapValues(\.checkpoint) }

    /// Authenticates and replay-checks a datagram; on success records it so it is never accepted again.
    public mutating func open(_ bytes: [UInt8]) -> Result<Envelope, DatagramRejection> {
        let envelope: Envelope
        do {
            envelope = try DatagramCodec.decode(bytes, keyring: keyring)
        } catch {
            return .failure(.wire(error))
        }
        let sender = envelope.message.sender
        guard sender != localName else { return .failure(.fromSelf) }
        if var window = windows[sender] {
            let verdict = window.check(bootID: envelope.bootID, sequence: envelope.sequence)
            guard verdict == .fresh else { return .failure(.replay(verdict)) }
            window.record(bootID: envelope.bootID, sequence: envelope.sequence)
            windows[sender] = window
        } else {
            windows[sender] = ReplayWindow(bootID: envelope.bootID, sequence: envelope.sequence)
        }
        return .success(envelope)
    }
}
