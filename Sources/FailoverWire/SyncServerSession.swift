/// What a backup asks for, once its request frame was authenticated.
public struct SyncRequest: Hashable, Sendable {
    /// The requesting node's name, as it says (authenticated by the cluster key).
    public var requester: String
    /// The generation the requester serves now.
    public var serving: UInt64
    /// The transfer version it asked for: 1, or 2 (files travel with their modes).
    public var version: UInt8

    /// Creates a request value.
    public init(requester: String, serving: UInt64, version: UInt8 = 1) {
        self.requester = requester
        self.serving = serving
        self.version = version
    }
}

/// What the server sends: the stamp and bytes it serves, and the hashes of its earlier versions, so the
/// receiver can tell a version that was superseded from one that was rejected.
public struct SyncOffer: Hashable, Sendable {
    public var stamp: ConfigStamp
    public var bundle: ConfigBundle
    /// Hashes of versions the server served before (newest first), at most 16.
    public var ancestors: [[UInt8]]
    /// Each file's permission bits on the server (`0o640`), in transfer version 2; nil in version 1. Not part
    /// of the stamp's hash, so both versions agree on what a config is.
    public var modes: [UInt16]?

    /// Creates an offer.
    public init(stamp: ConfigStamp, bundle: ConfigBundle, ancestors: [[UInt8]], modes: [UInt16]? = nil) {
        precondition(modes == nil || modes!.count == bundle.files.count, "one mode a file")
        self.stamp = stamp
        self.bundle = bundle
        self.ancestors = ancestors
        self.modes = modes
    }

    /// The transfer versions: 1 as in 0.3, 2 with the files' modes.
    public static let versions: ClosedRange<UInt8> = 1...2
}

/// The serving side of one transfer connection, without I/O: say hello with a fresh nonce, authenticate
/// the request, then produce the frames of the offer (or a refusal).
public struct SyncServerSession: Sendable {
    let keyring: Keyring
    let serverNonce: [UInt8]
    private var clientNonce: [UInt8] = []
    private var buffer = FrameBuffer()
    private var requested = false
    private var version: UInt8 = 1

    /// Creates a session; `nonce` must be 16 fresh random bytes (the caller's generator).
    public init(keyring: Keyring, nonce: [UInt8]) {
        precondition(nonce.count == SyncFrameCodec.nonceLength, "a sync nonce has 16 bytes")
        self.keyring = keyring
        self.serverNonce = nonce
    }

    /// The first frame, sent as soon as the connection is up.
    public func hello() -> [UInt8] {
        SyncFrameCodec.encode(
            .hello,
            sequence: 0,
            body: serverNonce,
            key: keyring.signing,
            serverNonce: serverNonce,
            clientNonce: Self.noNonce
        )
    }

    static let noNonce = [UInt8](repeating: 0, count: SyncFrameCodec.nonceLength)

    /// Feeds received bytes; returns the request once it arrived whole and authentic.
    public mutating func receive(_ bytes: some Sequence<UInt8>) throws(SyncTransferError) -> SyncRequest? {
        buffer.append(bytes)
        guard let frame = try buffer.next() else { return nil }
        guard !requested, frame.type == .request, frame.sequence == 0 else {
            throw .outOfOrder("expected one request, got \(frame.type) #\(frame.sequence)")
        }
        guard SyncFrameCodec.authentic(frame, keyring: keyring, serverNonce: serverNonce, clientNonce: Self.noNonce)
        else { throw .badTag(.request) }
        var reader = ByteReader(Array(frame.body))
        guard let nonce = reader.readBytes(SyncFrameCodec.nonceLength), let serving = reader.readUInt64(),
            let nameLength = reader.readUInt8(), let name = reader.readBytes(Int(nameLength))
        else { throw .malformed("request body") }
        // Version 1 ends after the name; version 2 adds the version it asks for (only sent to a server that
        // advertised it in its datagrams).
        if reader.remaining > 0 {
            guard let asked = reader.readUInt8(), reader.remaining == 0, asked == 2 else {
                throw .malformed("request body asks for an unknown transfer version")
            }
            version = asked
        }
        requested = true
        clientNonce = Array(nonce)
        return SyncRequest(requester: String(decoding: name, as: UTF8.self), serving: serving, version: version)
    }

    /// The frames that carry `offer`: header, chunks of 64 KiB, end; the files' modes in the header when the
    /// request asked for version 2.
    public func response(_ offer: SyncOffer) -> [[UInt8]] {
        var header = ByteWriter(capacity: 64)
        header.write(offer.stamp.generation)
        header.write(offer.stamp.hash)
        header.write(UInt16(offer.bundle.files.count))
        for file in offer.bundle.files { header.write(UInt64(file.count)) }
        let ancestors = offer.ancestors.filter { $0.count == 32 }.prefix(16)
        header.write(UInt8(ancestors.count))
        for ancestor in ancestors { header.write(ancestor) }
        if version >= 2 {
            // Unknown modes (a caller without them) travel as 0: the client then keeps its own rule.
            for index in offer.bundle.files.indices { header.write(offer.modes?[index] ?? 0) }
        }
        var frames = [frame(.header, 0, header.bytes)]
        var sequence: UInt32 = 1
        for file in offer.bundle.files {
            var offset = 0
            while offset < file.count {
                let end = min(offset + SyncFrameCodec.chunkSize, file.count)
                frames.append(frame(.chunk, sequence, Array(file[offset..<end])))
                sequence += 1
                offset = end
            }
        }
        frames.append(frame(.end, sequence, []))
        return frames
    }

    /// The one frame that says no, with the reason.
    public func refusal(_ reason: String) -> [UInt8] {
        frame(.refusal, 0, Array(reason.utf8.prefix(1_000)))
    }

    private func frame(_ type: SyncFrameType, _ sequence: UInt32, _ body: [UInt8]) -> [UInt8] {
        SyncFrameCodec.encode(
            type,
            sequence: sequence,
            body: body,
            key: keyring.signing,
            serverNonce: serverNonce,
            clientNonce: clientNonce
        )
    }
}
