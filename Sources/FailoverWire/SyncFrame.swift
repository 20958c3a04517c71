/// One frame of the config-sync transfer over TCP (docs/sync.md, "Transfer"):
///
///     length u32 (of everything after it) · type u8 · sequence u32 · body · HMAC-SHA256 tag (32 bytes)
///
/// The tag covers a domain string, both nonces of the connection, the type, the sequence and the body, so a
/// frame is valid only in the connection it was made for, only at its place, and only in its direction.
public enum SyncFrameType: UInt8, Sendable, CaseIterable {
    /// Server → client, first: the server's fresh nonce.
    case hello = 1
    /// Client → server: the client's nonce, its node name and the generation it serves.
    case request = 2
    /// Server → client: stamp, file sizes and the hashes of the server's earlier versions.
    case header = 3
    /// Server → client: the next bytes of the bundle (files concatenated).
    case chunk = 4
    /// Server → client: the bundle is complete.
    case end = 5
    /// Server → client: no transfer, with the reason.
    case refusal = 6
}

/// A decoded, not yet authenticated frame.
struct SyncFrame {
    var type: SyncFrameType
    var sequence: UInt32
    var body: ArraySlice<UInt8>
    var tag: ArraySlice<UInt8>
}

/// Encoding, splitting and authenticating frames. Never traps and never allocates more than one frame on
/// hostile input: a length above ``maximumBody`` is refused before anything is buffered.
enum SyncFrameCodec {
    static let tagLength = 32
    static let nonceLength = 16
    /// Bytes of bundle data per chunk frame.
    static let chunkSize = 64 * 1_024
    /// The largest body a frame may declare.
    static let maximumBody = 128 * 1_024
    static let domain = Array("failover-agent config sync v1".utf8)

    /// What the tag covers.
    static func signed(
        type: SyncFrameType,
        sequence: UInt32,
        body: ArraySlice<UInt8>,
        serverNonce: [UInt8],
        clientNonce: [UInt8]
    ) -> ArraySlice<UInt8> {
        var writer = ByteWriter(capacity: domain.count + 2 * nonceLength + 5 + body.count)
        writer.write(domain)
        writer.write(serverNonce)
        writer.write(clientNonce)
        writer.write(type.rawValue)
        writer.write(sequence)
        writer.write(body)
        return writer.bytes[...]
    }

    static func encode(
        _ type: SyncFrameType,
        sequence: UInt32,
        body: [UInt8],
        key: ClusterKey,
        serverNonce: [UInt8],
        clientNonce: [UInt8]
    ) -> [UInt8] {
        let tag = key.tag(
            signed(type: type, sequence: sequence, body: body[...], serverNonce: serverNonce, clientNonce: clientNonce)
        )
        var writer = ByteWriter(capacity: 4 + 5 + body.count + tagLength)
        writer.write(UInt32(5 + body.count + tagLength))
        writer.write(type.rawValue)
        writer.write(sequence)
        writer.write(body)
        writer.write(tag)
        return writer.bytes
    }

    /// The first complete frame in `bytes[start...]` and where the next one starts; nil when more bytes are
    /// needed.
    static func next(in bytes: [UInt8], from start: Int) throws(SyncTransferError) -> (SyncFrame, Int)? {
        var reader = ByteReader(bytes, from: start)
        guard let length = reader.readUInt32() else { return nil }
        guard length >= 5 + UInt32(tagLength), length <= UInt32(5 + maximumBody + tagLength) else {
            throw .malformed("a frame declares \(length) bytes")
        }
        guard reader.remaining >= Int(length) else { return nil }
        guard let rawType = reader.readUInt8(), let sequence = reader.readUInt32() else { return nil }
        guard let type = SyncFrameType(rawValue: rawType) else { throw .malformed("unknown frame type \(rawType)") }
        let bodyLength = Int(length) - 5 - tagLength
        guard let body = reader.readBytes(bodyLength), let tag = reader.readBytes(tagLength) else { return nil }
        return (SyncFrame(type: type, sequence: sequence, body: body, tag: tag), reader.offset)
    }

    /// Whether the frame's tag is right under the signing key or the key accepted during a rotation.
    static func authentic(_ frame: SyncFrame, keyring: Keyring, serverNonce: [UInt8], clientNonce: [UInt8]) -> Bool {
        let covered = signed(
            type: frame.type,
            sequence: frame.sequence,
            body: frame.body,
            serverNonce: serverNonce,
            clientNonce: clientNonce
        )
        if keyring.signing.verify(frame.tag, of: covered) { return true }
        return keyring.accepted?.verify(frame.tag, of: covered) ?? false
    }
}

/// Bytes received but not yet consumed as frames; compacted as frames are taken.
struct FrameBuffer {
    private var bytes: [UInt8] = []
    private var start = 0

    mutating func append(_ more: some Sequence<UInt8>) {
        if start > 0 && start >= bytes.count / 2 {
            bytes.removeFirst(start)
            start = 0
        }
        bytes.append(contentsOf: more)
    }

    mutating func next() throws(SyncTransferError) -> SyncFrame? {
        guard let (frame, end) = try SyncFrameCodec.next(in: bytes, from: start) else { return nil }
        start = end
        return frame
    }

    var isEmpty: Bool { start >= bytes.count }
}

/// Why a transfer ended without a bundle. Each case says what happened; none writes anything.
public enum SyncTransferError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Bytes that are not a frame of this protocol.
    case malformed(String)
    /// A frame whose tag is wrong: tampered, replayed from another connection, or another cluster key.
    case badTag(SyncFrameType)
    /// A frame out of place.
    case outOfOrder(String)
    /// The bundle is larger than this node accepts.
    case tooLarge(size: UInt64, limit: Int)
    /// The peer sends another number of files than this node has configured.
    case fileCount(peer: Int, local: Int)
    /// The bytes received do not have the hash the header announced.
    case hashMismatch
    /// The server said no.
    case refused(String)
    /// The connection ended before the bundle was complete.
    case incomplete(received: Int, expected: Int)

    /// A short snake_case name for metrics and logs.
    public var label: String {
        switch self {
        case .malformed: "malformed"
        case .badTag: "bad_tag"
        case .outOfOrder: "out_of_order"
        case .tooLarge: "too_large"
        case .fileCount: "file_count"
        case .hashMismatch: "hash_mismatch"
        case .refused: "refused"
        case .incomplete: "incomplete"
        }
    }

    public var description: String {
        switch self {
        case .malformed(let what): "malformed transfer: \(what)"
        case .badTag(let type):
            "a \(type) frame failed authentication (tampered, or the nodes' key files differ: compare "
                + "`failoverctl status` key fingerprints)"
        case .outOfOrder(let what): "frame out of order: \(what)"
        case .tooLarge(let size, let limit):
            "the config bundle has \(size) bytes, above engine.sync_limit (\(limit)); raise it on this node"
        case .fileCount(let peer, let local):
            "the peer syncs \(peer) files, this node has \(local) (engine.config and engine.sync_files): "
                + "list the same number of files on both nodes"
        case .hashMismatch: "the bytes received do not match the announced SHA-256"
        case .refused(let reason): "the peer refused: \(reason)"
        case .incomplete(let received, let expected):
            "the connection ended after \(received) of \(expected) bytes"
        }
    }
}
