/// Why a datagram was not accepted. Each case is counted in metrics under ``label``; none changes state.
public enum WireError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Shorter than the smallest valid datagram.
    case truncated(length: Int)
    /// Longer than ``DatagramCodec/maximumLength``: dropped before any parsing.
    case oversized(length: Int)
    /// Does not start with the protocol's magic bytes: not ours.
    case badMagic
    /// Version 0: no release ever sent it.
    case unsupportedVersion(UInt8)
    /// The length fields disagree with the datagram's size.
    case lengthMismatch
    /// The HMAC-SHA256 tag matches none of the keys: wrong key, tampering or forgery.
    case badTag
    /// Authenticated, but of a type this build does not know.
    case unknownType(UInt8)
    /// Authenticated, but the role byte is not a known role.
    case invalidRole(UInt8)
    /// Authenticated, but flag bits this build does not know are set.
    case unknownFlags(UInt16)
    /// Authenticated, but the sender name is not a valid node name.
    case invalidSenderName
    /// Authenticated, but the body does not fit its type.
    case malformedBody(MessageKind)
    /// Authenticated, but the extension block (version 2 and later) is cut short or contradicts itself.
    case malformedExtension

    /// A short snake_case name for metrics and logs.
    public var label: String {
        switch self {
        case .truncated: "truncated"
        case .oversized: "oversized"
        case .badMagic: "bad_magic"
        case .unsupportedVersion: "unsupported_version"
        case .lengthMismatch: "length_mismatch"
        case .badTag: "bad_tag"
        case .unknownType: "unknown_type"
        case .invalidRole: "invalid_role"
        case .unknownFlags: "unknown_flags"
        case .invalidSenderName: "invalid_sender"
        case .malformedBody: "malformed_body"
        case .malformedExtension: "malformed_extension"
        }
    }

    public var description: String {
        switch self {
        case .truncated(let length): "datagram of \(length) bytes is too short"
        case .oversized(let length): "datagram of \(length) bytes exceeds \(DatagramCodec.maximumLength)"
        case .badMagic: "not a failover-agent datagram (bad magic)"
        case .unsupportedVersion(let version):
            "protocol version \(version) does not exist (versions start at 1)"
        case .lengthMismatch: "length fields do not match the datagram size"
        case .badTag: "authentication tag does not verify: the peer uses another cluster key, or it is forged"
        case .unknownType(let type): "unknown message type \(type)"
        case .invalidRole(let role): "unknown role \(role)"
        case .unknownFlags(let flags): "unknown flag bits 0x\(String(flags, radix: 16))"
        case .invalidSenderName: "sender name is not a valid node name"
        case .malformedBody(let kind): "malformed \(kind) body"
        case .malformedExtension: "malformed extension block"
        }
    }
}
