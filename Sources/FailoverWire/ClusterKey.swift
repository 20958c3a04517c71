import Crypto

/// A pre-shared cluster key: at least 32 random bytes, the same on every node.
public struct ClusterKey: Sendable {
    /// The shortest key accepted, in bytes.
    public static let minimumLength = 32

    let symmetricKey: SymmetricKey

    /// A short public fingerprint (first 8 hex digits of SHA-256 of the key) to compare keys across nodes
    /// without revealing them.
    public let fingerprint: String

    /// Creates a key from raw bytes; returns nil when shorter than ``minimumLength``.
    public init?(bytes: [UInt8]) {
        guard bytes.count >= ClusterKey.minimumLength else { return nil }
        self.symmetricKey = SymmetricKey(data: bytes)
        let digest = Array(SHA256.hash(data: bytes))
        self.fingerprint = Hex.encode(digest.prefix(4))
    }
}
