/// Boolean facts about the sender, carried in every datagram.
public struct MessageFlags: OptionSet, Hashable, Sendable {
    public let rawValue: UInt16

    public init(rawValue: UInt16) { self.rawValue = rawValue }

    /// An operator put the sender in maintenance mode.
    public static let maintenance = MessageFlags(rawValue: 1 << 0)
    /// The sender's proxy engine is ready to serve.
    public static let engineReady = MessageFlags(rawValue: 1 << 1)
    /// The sender holds the shared IP right now (its VIP driver confirmed the claim).
    public static let holdsVIP = MessageFlags(rawValue: 1 << 2)
    /// The sender reaches its witness, or has none configured.
    public static let witnessOK = MessageFlags(rawValue: 1 << 3)
    /// The sender is taking over in a planned handoff: treat it as the primary.
    public static let takingOver = MessageFlags(rawValue: 1 << 4)

    /// The sender released the VIP in a planned handoff and waits for the target to hold it: a takeover is in
    /// progress, nobody else should claim.
    public static let handingOver = MessageFlags(rawValue: 1 << 5)

    /// The flags a decoder accepts; any other bit is a malformed datagram.
    public static let known: MessageFlags = [
        .maintenance, .engineReady, .holdsVIP, .witnessOK, .takingOver, .handingOver,
    ]
}
