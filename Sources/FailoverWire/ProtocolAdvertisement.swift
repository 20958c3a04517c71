/// Optional features a node offers beyond its datagram version, advertised in every datagram of version 2 or
/// later. A reader ignores bits it does not know (docs/protocol.md, "Versions").
public struct ProtocolCapabilities: OptionSet, Hashable, Sendable {
    public let rawValue: UInt32

    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// The node serves and fetches config sync version 2: each synced file travels with its mode bits, so the
    /// backup's copy has the primary's permissions (docs/sync.md).
    public static let syncFileModes = ProtocolCapabilities(rawValue: 1 << 0)

    /// What this build offers.
    public static let thisBuild: ProtocolCapabilities = [.syncFileModes]
}

/// What a node says about its own protocol support in each datagram of version 2 or later: the datagram versions
/// it reads, its optional features and its product version. A version 1 datagram carries none of it.
public struct ProtocolAdvertisement: Hashable, Sendable {
    /// The datagram versions the sender reads and can send.
    public var versions: ClosedRange<UInt8>
    /// Its optional features.
    public var capabilities: ProtocolCapabilities
    /// Its release, as `failover-agent --version` prints it (at most 64 bytes of UTF-8 travel).
    public var product: String

    /// Creates an advertisement.
    public init(versions: ClosedRange<UInt8>, capabilities: ProtocolCapabilities, product: String) {
        self.versions = versions
        self.capabilities = capabilities
        self.product = product
    }

    /// The versions this build reads and sends.
    public static let supportedVersions: ClosedRange<UInt8> = 1...2
}
