/// The name of a node in the cluster, as configured in `node.name` and carried in every datagram.
///
/// A name is 1 to 64 bytes of ASCII letters, digits, `.`, `_` and `-`, so it is safe to print in logs,
/// metrics labels and file names, and it orders deterministically (the last tie-break of an election).
public struct NodeName: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The longest name in bytes.
    public static let maximumLength = 64

    /// The name's text.
    public let value: String

    /// Creates a name, or returns `nil` when the text is empty, too long or has a character outside
    /// `[A-Za-z0-9._-]`.
    public init?(_ value: String) {
        guard NodeName.isValid(Array(value.utf8)) else { return nil }
        self.value = value
    }

    /// Creates a name from raw bytes as found on the wire, or returns `nil` when they are not a valid name.
    public init?(bytes: some Collection<UInt8>) {
        let array = Array(bytes)
        guard NodeName.isValid(array) else { return nil }
        self.value = String(decoding: array, as: UTF8.self)
    }

    /// Whether `bytes` form a valid node name.
    public static func isValid(_ bytes: [UInt8]) -> Bool {
        guard !bytes.isEmpty, bytes.count <= maximumLength else { return false }
        return bytes.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"):
                return true
            default:
                return false
            }
        }
    }

    public static func < (lhs: NodeName, rhs: NodeName) -> Bool {
        Array(lhs.value.utf8).lexicographicallyPrecedes(Array(rhs.value.utf8))
    }

    public var description: String { value }
}
