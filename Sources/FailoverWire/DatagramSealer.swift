/// The sending side of the protocol: numbers and signs each outgoing datagram.
public struct DatagramSealer: Sendable {
    /// The keys; the signing key signs.
    public var keyring: Keyring
    /// This process's boot id.
    public let bootID: UInt64
    /// What datagrams of version 2 and later say about this node.
    public let advertisement: ProtocolAdvertisement
    /// The sequence number the next datagram gets.
    public private(set) var nextSequence: UInt64 = 1

    /// Creates a sealer for one process lifetime.
    public init(keyring: Keyring, bootID: UInt64, advertisement: ProtocolAdvertisement) {
        precondition(
            ProtocolAdvertisement.supportedVersions.overlaps(advertisement.versions),
            "a node advertises versions it can send"
        )
        self.keyring = keyring
        self.bootID = bootID
        self.advertisement = advertisement
    }

    /// Seals a message into datagram bytes of `version` (this build's newest by default, at most the newest
    /// advertised) with a fresh sequence number.
    public mutating func seal(_ message: Message, version: UInt8? = nil) -> [UInt8] {
        let chosen = min(version ?? advertisement.versions.upperBound, advertisement.versions.upperBound)
        let envelope = Envelope(
            bootID: bootID,
            sequence: nextSequence,
            message: message,
            version: chosen,
            advertisement: chosen >= 2 ? advertisement : nil
        )
        nextSequence &+= 1
        return DatagramCodec.encode(envelope, key: keyring.signing)
    }
}
