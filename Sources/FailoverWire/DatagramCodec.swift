/// Encodes and decodes peer datagrams, byte for byte as docs/protocol.md describes.
///
/// Layout (big-endian): magic `FOAG`, version, type, flags(2), boot id(8), sequence(8), term(8), role,
/// priority, sender length N, body length B, config generation(8), config SHA-256(32), sender(N), body(B),
/// HMAC-SHA256(32) over everything before it.
///
/// Decoding never traps and allocates at most a copy of the datagram: lengths are checked before use, the
/// tag is verified before any field is interpreted, and every failure is a typed ``WireError``.
public enum DatagramCodec {
    /// The protocol version this build speaks.
    public static let version: UInt8 = 1
    /// The magic bytes that open every datagram.
    public static let magic: [UInt8] = Array("FOAG".utf8)
    /// Size of the fixed header, before the sender name.
    public static let headerLength = 76
    /// Size of the HMAC-SHA256 tag.
    public static let tagLength = 32
    /// No datagram is longer than this; longer ones are dropped unread.
    public static let maximumLength = 512
    /// The shortest possible datagram: header, a one-byte name, no body, tag.
    public static let minimumLength = headerLength + 1 + tagLength

    /// Serialises and signs an envelope with the keyring's signing key.
    public static func encode(_ envelope: Envelope, key: ClusterKey) -> [UInt8] {
        let message = envelope.message
        let body = encodeBody(message.body)
        let name = Array(message.sender.value.utf8)
        var writer = ByteWriter(capacity: headerLength + name.count + body.count + tagLength)
        writer.write(magic)
        writer.write(version)
        writer.write(message.body.kind.rawValue)
        writer.write(message.flags.rawValue)
        writer.write(envelope.bootID)
        writer.write(envelope.sequence)
        writer.write(message.term)
        writer.write(message.role.rawValue)
        writer.write(message.priority)
        writer.write(UInt8(name.count))
        writer.write(UInt8(body.count))
        writer.write(message.config.generation)
        writer.write(message.config.hash)
        writer.write(name)
        writer.write(body)
        writer.write(key.tag(writer.bytes[...]))
        return writer.bytes
    }

    /// Verifies and parses a datagram. Replay is not checked here: see ``DatagramOpener``.
    public static func decode(_ bytes: [UInt8], keyring: Keyring) throws(WireError) -> Envelope {
        guard bytes.count <= maximumLength else { throw .oversized(length: bytes.count) }
        guard bytes.count >= minimumLength else { throw .truncated(length: bytes.count) }
        guard bytes[0..<4].elementsEqual(magic) else { throw .badMagic }
        guard bytes[4] == version else { throw .unsupportedVersion(bytes[4]) }
        let nameLength = Int(bytes[34])
        let bodyLength = Int(bytes[35])
        let signedLength = headerLength + nameLength + bodyLength
        guard signedLength + tagLength == bytes.count else { throw .lengthMismatch }
        let tag = bytes[signedLength...]
        let signed = bytes[..<signedLength]
        var verified = keyring.signing.verify(tag, of: signed)
        if !verified, let accepted = keyring.accepted { verified = accepted.verify(tag, of: signed) }
        guard verified else { throw .badTag }
        return try parseAuthenticated(bytes, nameLength: nameLength, bodyLength: bodyLength)
    }

    private static func parseAuthenticated(
        _ bytes: [UInt8],
        nameLength: Int,
        bodyLength: Int
    ) throws(WireError) -> Envelope {
        var reader = ByteReader(bytes, from: 5)
        guard let typeByte = reader.readUInt8(), let flagBits = reader.readUInt16(),
            let bootID = reader.readUInt64(), let sequence = reader.readUInt64(), let term = reader.readUInt64(),
            let roleByte = reader.readUInt8(), let priority = reader.readUInt8(), reader.readUInt8() != nil,
            reader.readUInt8() != nil, let generation = reader.readUInt64(), let hash = reader.readBytes(32),
            let nameBytes = reader.readBytes(nameLength), let bodyBytes = reader.readBytes(bodyLength)
        else { throw .lengthMismatch }
        guard let kind = MessageKind(rawValue: typeByte) else { throw .unknownType(typeByte) }
        guard let role = Role(rawValue: roleByte) else { throw .invalidRole(roleByte) }
        let flags = MessageFlags(rawValue: flagBits)
        guard MessageFlags.known.isSuperset(of: flags) else { throw .unknownFlags(flagBits) }
        guard let sender = NodeName(bytes: nameBytes) else { throw .invalidSenderName }
        let body = try decodeBody(kind, Array(bodyBytes))
        let message = Message(
            sender: sender,
            term: term,
            role: role,
            priority: priority,
            flags: flags,
            config: ConfigStamp(generation: generation, hash: Array(hash)),
            body: body
        )
        return Envelope(bootID: bootID, sequence: sequence, message: message)
    }

    private static func encodeBody(_ body: MessageBody) -> [UInt8] {
        var writer = ByteWriter(capacity: 80)
        switch body {
        case .heartbeat(let timing):
            writer.write(timing.sentAt)
            writer.write(timing.echo)
            writer.write(timing.echoHeld)
        case .handoffRequest(let request):
            writer.write(request.handoffID)
            writer.write(request.intent.rawValue)
            let target = Array(request.target.value.utf8)
            writer.write(UInt8(target.count))
            writer.write(target)
        case .handoffAccept(let handoffID):
            writer.write(handoffID)
        case .released(let handoffID, let target):
            writer.write(handoffID)
            let name = Array(target.value.utf8)
            writer.write(UInt8(name.count))
            writer.write(name)
        case .handoffReject(let handoffID, let reason):
            writer.write(handoffID)
            writer.write(reason.rawValue)
        case .leaving:
            break
        }
        return writer.bytes
    }

    private static func decodeBody(_ kind: MessageKind, _ bytes: [UInt8]) throws(WireError) -> MessageBody {
        var reader = ByteReader(bytes)
        let body: MessageBody?
        switch kind {
        case .heartbeat:
            if let sentAt = reader.readUInt64(), let echo = reader.readUInt64(), let held = reader.readUInt64() {
                body = .heartbeat(HeartbeatTiming(sentAt: sentAt, echo: echo, echoHeld: held))
            } else {
                body = nil
            }
        case .handoffRequest:
            if let id = reader.readUInt64(), let intentByte = reader.readUInt8(),
                let intent = HandoffRequest.Intent(rawValue: intentByte), let length = reader.readUInt8(),
                let nameBytes = reader.readBytes(Int(length)), let target = NodeName(bytes: nameBytes)
            {
                body = .handoffRequest(HandoffRequest(handoffID: id, intent: intent, target: target))
            } else {
                body = nil
            }
        case .handoffAccept:
            body = reader.readUInt64().map { .handoffAccept(handoffID: $0) }
        case .released:
            if let id = reader.readUInt64(), let length = reader.readUInt8(),
                let nameBytes = reader.readBytes(Int(length)), let target = NodeName(bytes: nameBytes)
            {
                body = .released(handoffID: id, target: target)
            } else {
                body = nil
            }
        case .handoffReject:
            if let id = reader.readUInt64(), let reasonByte = reader.readUInt8(),
                let reason = HandoffRejectReason(rawValue: reasonByte)
            {
                body = .handoffReject(handoffID: id, reason: reason)
            } else {
                body = nil
            }
        case .leaving:
            body = .leaving
        }
        guard let body, reader.remaining == 0 else { throw .malformedBody(kind) }
        return body
    }
}
