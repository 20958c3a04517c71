/// The generation and SHA-256 of the proxy configuration a node serves, announced in every datagram so
/// that drift is visible within one heartbeat.
public struct ConfigStamp: Hashable, Sendable {
    /// Raised by the primary each time a new valid configuration is accepted; 0 means "none yet".
    public var generation: UInt64
    /// SHA-256 of the configuration bytes (32 bytes; all zero when there is none).
    public var hash: [UInt8]

    /// No configuration known.
    public static let none = ConfigStamp(generation: 0, hash: [UInt8](repeating: 0, count: 32))

    /// Creates a stamp; `hash` must be 32 bytes.
    public init(generation: UInt64, hash: [UInt8]) {
        precondition(hash.count == 32, "a config hash is a SHA-256 digest of 32 bytes")
        self.generation = generation
        self.hash = hash
    }

    /// The first 12 hex digits of the hash, for status lines.
    public var shortHash: String { Hex.encode(hash.prefix(6)) }
}
