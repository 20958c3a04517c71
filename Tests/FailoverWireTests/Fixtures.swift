import FailoverWire

/// Shared test values.
enum Fixtures {
    static let keyBytes: [UInt8] = Array(0..<32)
    static let key = ClusterKey(bytes: keyBytes)!
    static let otherKey = ClusterKey(bytes: Array(repeating: 7, count: 32))!
    static let keyring = Keyring(signing: key)
    static let lb1 = NodeName("lb1")!
    static let lb2 = NodeName("lb2")!

    static func message(_ body: MessageBody = .heartbeat(HeartbeatTiming(sentAt: 42, echo: 7, echoHeld: 3))) -> Message
    {
        Message(
            sender: lb1,
            term: 5,
            role: .primary,
            priority: 150,
            flags: [.engineReady, .holdsVIP, .witnessOK],
            config: ConfigStamp(generation: 9, hash: Array(repeating: 0xAB, count: 32)),
            body: body
        )
    }

    static func datagram(_ body: MessageBody = .heartbeat(HeartbeatTiming(sentAt: 42)), sequence: UInt64 = 1) -> [UInt8]
    {
        DatagramCodec.encode(
            Envelope(bootID: 0x1122_3344_5566_7788, sequence: sequence, message: message(body)),
            key: key
        )
    }
}

extension Fixtures {
    /// This build's advertisement, as a test names it.
    static let advertisement = ProtocolAdvertisement(
        versions: ProtocolAdvertisement.supportedVersions,
        capabilities: .thisBuild,
        product: "0.4.0-test"
    )
}
