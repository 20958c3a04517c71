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

    /// HMAC-SHA256 of `bytes` with this key.
    func tag(_ bytes: ArraySlice<UInt8>) -> [UInt8] {
        var hmac = HMAC<SHA256>(key: symmetricKey)
        bytes.withUnsafeBytes { hmac.update(data: $0) }
        return Array(hmac.finalize())
    }

    /// Whether `tag` is the HMAC-SHA256 of `bytes` with this key, compared in constant time.
    func verify(_ tag: ArraySlice<UInt8>, of bytes: ArraySlice<UInt8>) -> Bool {
        let expected = self.tag(bytes)
        guard expected.count == tag.count else { return false }
        var difference: UInt8 = 0
        for (a, b) in zip(expected, tag) { difference |= a ^ b }
        return difference == 0
    }
}
