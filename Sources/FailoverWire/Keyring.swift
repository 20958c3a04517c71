/// The keys a node signs and verifies with: one signing key, and during a rotation one more accepted key.
///
/// Rotation (docs/protocol.md): add the new key as the second line of the key file on both nodes and reload;
/// then make it the first line on both; then remove the old one. At every step each node accepts what the
/// other signs.
public struct Keyring: Sendable {
    /// Signs every outgoing datagram, and verifies incoming ones.
    public var signing: ClusterKey
    /// Also accepted on incoming datagrams while a rotation is under way.
    public var accepted: ClusterKey?

    /// Creates a keyring.
    public init(signing: ClusterKey, accepted: ClusterKey? = nil) {
        self.signing = signing
        self.accepted = accepted
    }
}

/// Why the text of a key file was refused.
public enum KeyFileError: Error, Hashable, Sendable, CustomStringConvertible {
    /// No key line at all.
    case empty
    /// More than two key lines.
    case tooManyKeys(line: Int)
    /// A line that is not hex.
    case notHex(line: Int)
    /// A key shorter than 32 bytes.
    case tooShort(line: Int, bytes: Int)

    public var description: String {
        switch self {
        case .empty:
            "no key found; create one with `failoverctl keygen > FILE` and copy the same file to every node"
        case .tooManyKeys(let line):
            "line \(line): at most two keys (the signing key, then one more accepted during a rotation)"
        case .notHex(let line): "line \(line): a key is 64 or more hex digits (see `failoverctl keygen`)"
        case .tooShort(let line, let bytes):
            "line \(line): the key has \(bytes) bytes; at least \(ClusterKey.minimumLength) are required"
        }
    }
}

extension Keyring {
    /// Parses a key file: one hex key per line (the first signs), blank lines and `#` comments ignored.
    public init(keyFileText text: String) throws(KeyFileError) {
        var keys: [ClusterKey] = []
        var lineNumber = 0
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            let line = rawLine.filter { !$0.isWhitespace }
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard keys.count < 2 else { throw .tooManyKeys(line: lineNumber) }
            guard let bytes = Hex.decode(line) else { throw .notHex(line: lineNumber) }
            guard let key = ClusterKey(bytes: bytes) else { throw .tooShort(line: lineNumber, bytes: bytes.count) }
            keys.append(key)
        }
        guard let signing = keys.first else { throw .empty }
        self.init(signing: signing, accepted: keys.count > 1 ? keys[1] : nil)
    }
}
