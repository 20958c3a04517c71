/// Encodes and decodes peer datagrams, byte for byte as docs/protocol.md describes.
///
/// Layout (big-endian): magic `FOAG`, version, type, flags(2), boot id(8), sequence(8), term(8), role,
/// priority, sender length N, body length B, config generation(8), config SHA-256(32), sender(N), body(B),
/// from version 2 an extension block of type-length-value fields (the sender's versions, capabilities and
/// release), then HMAC-SHA256(32) over everything before it.
///
/// Every version keeps that frame and the meaning of the fixed header's fields (the *core*), so a datagram of a
/// version this build does not speak (a newer one, or one a later build stopped speaking) is still
/// authenticated and its core read: the sender is known to be alive, with its role and whether it holds the
/// VIP, and is never mistaken for silent. Its type and body are not read; it stands in as a heartbeat.
///
/// Decoding never traps and allocates at most a copy of the datagram: lengths are checked before use, the
/// tag is verified before any field is interpreted, and every failure is a typed ``WireError``.
public enum DatagramCodec {
    /// The newest protocol version this build speaks.
    public static let version: UInt8 = ProtocolAdvertisement.supportedVersions.upperBound
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
    /// The longest release string an advertisement carries.
    public static let maximumProductLength = 64

    /// Extension field types (version 2 and later); a reader skips types it does not know.
    enum ExtensionField: UInt8 {
        case versions = 1
        case capabilities = 2
        case product = 3
    }

    /// Serialises and signs an envelope in its `version` with the keyring's signing key. Version 1 carries no
    /// advertisement; version 2 carries the envelope's (or none, if nil).
    public static func encode(_ envelope: Envelope, key: ClusterKey) -> [UInt8] {
        let message = envelope.message
        let body = encodeBody(message.body)
        let name = Array(message.sender.value.utf8)
        let extensions = envelope.version >= 2 ? encodeExtensions(envelope.advertisement) : []
        var writer = ByteWriter(capacity: headerLength + name.count + body.count + extensions.count + tagLength)
        writer.write(magic)
        writer.write(envelope.version)
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
        writer.write(extensions)
        writer.write(key.tag(writer.bytes[...]))
        return writer.bytes
    }

    /// Verifies and parses a datagram. Replay is not checked here: see ``DatagramOpener``.
    public static func decode(_ bytes: [UInt8], keyring: Keyring) throws(WireError) -> Envelope {
        guard bytes.count <= maximumLength else { throw .oversized(length: bytes.count) }
        guard bytes.count >= minimumLength else { throw .truncated(length: bytes.count) }
        guard bytes[0..<4].elementsEqual(magic) else { throw .badMagic }
        let version = bytes[4]
        guard version >= 1 else { throw .unsupportedVersion(version) }
        let nameLength = Int(bytes[34])
        let bodyLength = Int(bytes[35])
        let signedLength = bytes.count - tagLength
        let extensionStart = headerLength + nameLength + bodyLength
        // Version 1 has nothing after the body; later versions may have an extension block there.
        guard version == 1 ? extensionStart == signedLength : extensionStart <= signedLength else {
            throw .lengthMismatch
        }
        let tag = bytes[signedLength...]
        let signed = bytes[..<signedLength]
        var verified = keyring.signing.verify(tag, of: signed)
        if !verified, let accepted = keyring.accepted { verified = accepted.verify(tag, of: signed) }
        guard verified else { throw .badTag }
        let block = bytes[extensionStart..<signedLength]
        let advertisement: ProtocolAdvertisement?
        if version == 1 {
            advertisement = nil
        } else if ProtocolAdvertisement.supportedVersions.contains(version) {
            advertisement = try decodeExtensions(block, version)
        } else {
            // Another release's block may have another form: its sender stays heard (the core) even so.
            advertisement =
                (try? decodeExtensions(block, version))
                ?? ProtocolAdvertisement(versions: version...version, capabilities: [], product: "")
        }
        var envelope = try parseAuthenticated(
            bytes,
            nameLength: nameLength,
            bodyLength: bodyLength,
            coreOnly: !ProtocolAdvertisement.supportedVersions.contains(version)
        )
        envelope.version = version
        envelope.advertisement = advertisement
        return envelope
    }

    private static func encodeExtensions(_ advertisement: ProtocolAdvertisement?) -> [UInt8] {
        guard let advertisement else { return [] }
        var writer = ByteWriter(capacity: 16 + maximumProductLength)
        writer.write(ExtensionField.versions.rawValue)
        writer.write(UInt8(2))
        writer.write(advertisement.versions.lowerBound)
        writer.write(advertisement.versions.upperBound)
        writer.write(ExtensionField.capabilities.rawValue)
        writer.write(UInt8(4))
        writer.write(advertisement.capabilities.rawValue)
        var product = Array(advertisement.product.utf8.prefix(maximumProductLength))
        while !product.isEmpty, String(validating: product, as: UTF8.self) == nil { product.removeLast() }
        writer.write(ExtensionField.product.rawValue)
        writer.write(UInt8(product.count))
        writer.write(product)
        return writer.bytes
    }

    /// The advertisement in an extension block; fields of unknown types are skipped. Without a versions
    /// field the sender is taken to speak its datagram's version only.
    private static func decodeExtensions(
        _ block: ArraySlice<UInt8>,
        _ version: UInt8
    ) throws(WireError) -> ProtocolAdvertisement {
        var reader = ByteReader(Array(block))
        var advertisement = ProtocolAdvertisement(versions: version...version, capabilities: [], product: "")
        while reader.remaining > 0 {
            guard let type = reader.readUInt8(), let length = reader.readUInt8(),
                let value = reader.readBytes(Int(length))
            else { throw .malformedExtension }
            switch ExtensionField(rawValue: type) {
            case .versions:
                guard value.count == 2, value.first! <= value.last!, (value.first!...value.last!).contains(version)
                else { throw .malformedExtension }
                advertisement.versions = value.first!...value.last!
            case .capabilities:
                // Later versions may lengthen the field: its last four bytes are the bits defined so far.
                var bits: UInt32 = 0
                for byte in value.suffix(4) { bits = bits << 8 | UInt32(byte) }
                advertisement.capabilities = ProtocolCapabilities(rawValue: bits)
            case .product:
                advertisement.product = String(decoding: value.prefix(maximumProductLength), as: UTF8.self)
            case nil:
                continue
            }
        }
        return advertisement
    }

    /// Reads the fixed header, the name and, unless `coreOnly` (a version newer than this build), the type and body.
    private static func parseAuthenticated(
        _ bytes: [UInt8],
        nameLength: Int,
        bodyLength: Int,
        coreOnly: Bool
    ) throws(WireError) -> Envelope {
        var reader = ByteReader(bytes, from: 5)
        guard let typeByte = reader.readUInt8(), let flagBits = reader.readUInt16(),
            let bootID = reader.readUInt64(), let sequence = reader.readUInt64(), let term = reader.readUInt64(),
            let roleByte = reader.readUInt8(), let priority = reader.readUInt8(), reader.readUInt8() != nil,
            reader.readUInt8() != nil, let generation = reader.readUInt64(), let hash = reader.readBytes(32),
            let nameBytes = reader.readBytes(nameLength), let bodyBytes = reader.readBytes(bodyLength)
        else { throw .lengthMismatch }
        guard let role = Role(rawValue: roleByte) else { throw .invalidRole(roleByte) }
        var flags = MessageFlags(rawValue: flagBits)
        if coreOnly {
            // A newer version may define more flags; the ones this build knows keep their meaning.
            flags.formIntersection(.known)
        } else {
            guard MessageFlags.known.isSuperset(of: flags) else { throw .unknownFlags(flagBits) }
        }
        guard let sender = NodeName(bytes: nameBytes) else { throw .invalidSenderName }
        let body: MessageBody
        if coreOnly {
            body = .heartbeat(HeartbeatTiming(sentAt: 0))
        } else {
            guard let kind = MessageKind(rawValue: typeByte) else { throw .unknownType(typeByte) }
            body = try decodeBody(kind, Array(bodyBytes))
        }
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
