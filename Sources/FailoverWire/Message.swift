/// One peer message: what a node says to the others in a datagram, before sealing.
public struct Message: Hashable, Sendable {
    /// Who sends it.
    public var sender: NodeName
    /// The sender's current term (raised by every takeover).
    public var term: UInt64
    /// The sender's role.
    public var role: Role
    /// The sender's configured priority (1-255; higher wins an election).
    public var priority: UInt8
    /// Facts about the sender.
    public var flags: MessageFlags
    /// The proxy configuration the sender serves.
    public var config: ConfigStamp
    /// What kind of message this is, with its type-specific fields.
    public var body: MessageBody

    /// Creates a message.
    public init(
        sender: NodeName,
        term: UInt64,
        role: Role,
        priority: UInt8,
        flags: MessageFlags,
        config: ConfigStamp,
        body: MessageBody
    ) {
        self.sender = sender
        self.term = term
        self.role = role
        self.priority = priority
        self.flags = flags
        self.config = config
        self.body = body
    }
}

/// A message as it arrived: with the sender's boot id and the datagram's sequence number.
public struct Envelope: Hashable, Sendable {
    /// Random-tailed, start-time-ordered id of the sender's process (see docs/protocol.md).
    public var bootID: UInt64
    /// Per-datagram sequence number within the sender's boot, starting at 1.
    public var sequence: UInt64
    /// The message.
    public var message: Message
    /// The datagram version it travels in (or travelled in, for a received one).
    public var version: UInt8
    /// What the sender says of its protocol support: in datagrams of version 2 and later, nil in version 1.
    public var advertisement: ProtocolAdvertisement?

    /// Creates an envelope.
    public init(
        bootID: UInt64,
        sequence: UInt64,
        message: Message,
        version: UInt8 = 1,
        advertisement: ProtocolAdvertisement? = nil
    ) {
        self.bootID = bootID
        self.sequence = sequence
        self.message = message
        self.version = version
        self.advertisement = advertisement
    }

    /// Whether it came in a version this build does not speak: only the part every version keeps was read
    /// (the body stands in as a heartbeat with no timing), see docs/protocol.md, "Versions".
    public var readAsCore: Bool { !ProtocolAdvertisement.supportedVersions.contains(version) }
}
