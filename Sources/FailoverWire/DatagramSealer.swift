/// The sending side of the protocol: numbers and signs each outgoing datagram.
public struct DatagramSealer: Sendable {
    /// The keys; the signing key signs.
    public var keyring: Keyring
    /// This process's boot id.
    public let bootID: UInt64
    /// The sequence number the next datagram gets.
    public private(set) var nextSequence: UInt64 = 1

    /// Creates a sealer for one process lifetime.
    public init(keyring: Keyring, bootID: UInt64) {
        self.keyring = keyring
        self.bootID = bootID
    }

    /// Seals a message into datagram bytes with a fresh sequence number.
    public mutating func seal(_ message: Message) -> [UInt8] {
        let envelope = Envelope(bootID: bootID, sequence: nextSequence, message: message)
        nextSequence &+= 1
        return DatagramCodec.encode(envelope, key: keyring.signing)
    }
}
