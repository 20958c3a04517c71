/// What the fetching side does next.
public enum SyncClientStep: Hashable, Sendable {
    /// Wait for more bytes.
    case needMore
    /// Send these bytes (the request), then wait.
    case send([UInt8])
    /// The bundle arrived whole, authentic and with the announced hash.
    case done(SyncOffer)
}

/// The fetching side of one transfer connection, without I/O. Every frame is authenticated before its bytes
/// are kept; sizes are checked against the limit before any data is accepted; the bundle is handed out only
/// once complete and matching the announced hash. Nothing it returns has come from an unauthenticated peer.
public struct SyncClientSession: Sendable {
    let keyring: Keyring
    let clientNonce: [UInt8]
    let requester: String
    let serving: UInt64
    let limit: Int
    let expectedFiles: Int
    /// The transfer version asked for: 2 only from a server that advertised ``ProtocolCapabilities/syncFileModes``.
    let version: UInt8
    private var serverNonce: [UInt8]?
    private var buffer = FrameBuffer()
    private var stamp: ConfigStamp?
    private var sizes: [Int] = []
    private var ancestors: [[UInt8]] = []
    private var modes: [UInt16]?
    private var data: [UInt8] = []
    private var nextSequence: UInt32 = 0
    private var total = 0
    private var finished = false

    /// Creates a session; `nonce` must be 16 fresh random bytes (the caller's generator).
    public init(
        keyring: Keyring,
        nonce: [UInt8],
        requester: String,
        serving: UInt64,
        limit: Int,
        expectedFiles: Int,
        version: UInt8 = 1
    ) {
        precondition(nonce.count == SyncFrameCodec.nonceLength, "a sync nonce has 16 bytes")
        precondition(SyncOffer.versions.contains(version), "a transfer version this build speaks")
        self.version = version
        self.keyring = keyring
        self.clientNonce = nonce
        self.requester = requester
        self.serving = serving
        self.limit = limit
        self.expectedFiles = expectedFiles
    }

    /// Bytes received so far of the bundle, and how many were announced.
    public var progress: (received: Int, expected: Int) { (data.count, total) }

    /// Feeds received bytes; returns what to do next. Throws on anything but the protocol followed exactly.
    public mutating func receive(_ bytes: some Sequence<UInt8>) throws(SyncTransferError) -> SyncClientStep {
        buffer.append(bytes)
        var reply: [UInt8]?
        while let frame = try buffer.next() {
            if finished { throw .outOfOrder("a \(frame.type) frame after the end") }
            if let step = try take(frame) {
                switch step {
                case .send(let bytes): reply = bytes
                case .done:
                    finished = true
                    return step
                case .needMore: break
                }
            }
        }
        return reply.map(SyncClientStep.send) ?? .needMore
    }

    /// The connection closed: throws unless the bundle was already complete.
    public func closed() throws(SyncTransferError) {
        guard finished else { throw .incomplete(received: data.count, expected: total) }
    }

    private mutating func take(_ frame: SyncFrame) throws(SyncTransferError) -> SyncClientStep? {
        guard let serverNonce else {
            guard frame.type == .hello, frame.sequence == 0, frame.body.count == SyncFrameCodec.nonceLength else {
                throw .outOfOrder("expected hello, got \(frame.type)")
            }
            let nonce = Array(frame.body)
            guard
                SyncFrameCodec.authentic(
                    frame,
                    keyring: keyring,
                    serverNonce: nonce,
                    clientNonce: SyncServerSession.noNonce
                )
            else { throw .badTag(.hello) }
            self.serverNonce = nonce
            var body = ByteWriter(capacity: 32)
            body.write(clientNonce)
            body.write(serving)
            let name = Array(requester.utf8.prefix(255))
            body.write(UInt8(name.count))
            body.write(name)
            if version >= 2 { body.write(version) }
            return .send(
                SyncFrameCodec.encode(
                    .request,
                    sequence: 0,
                    body: body.bytes,
                    key: keyring.signing,
                    serverNonce: nonce,
                    clientNonce: SyncServerSession.noNonce
                )
            )
        }
        guard SyncFrameCodec.authentic(frame, keyring: keyring, serverNonce: serverNonce, clientNonce: clientNonce)
        else { throw .badTag(frame.type) }
        if frame.type == .refusal {
            throw .refused(String(decoding: frame.body, as: UTF8.self))
        }
        guard frame.sequence == nextSequence else {
            throw .outOfOrder("expected frame #\(nextSequence), got \(frame.type) #\(frame.sequence)")
        }
        nextSequence &+= 1
        switch frame.type {
        case .header:
            guard stamp == nil else { throw .outOfOrder("a second header") }
            try readHeader(Array(frame.body))
            return nil
        case .chunk:
            guard stamp != nil else { throw .outOfOrder("data before the header") }
            guard data.count + frame.body.count <= total else {
                throw .malformed("more data than the header announced (\(total) bytes)")
            }
            data.append(contentsOf: frame.body)
            return nil
        case .end:
            guard let stamp else { throw .outOfOrder("end before the header") }
            guard data.count == total, frame.body.isEmpty else {
                throw .incomplete(received: data.count, expected: total)
            }
            var files: [[UInt8]] = []
            var offset = 0
            for size in sizes {
                files.append(Array(data[offset..<(offset + size)]))
                offset += size
            }
            let bundle = ConfigBundle(files: files)
            guard bundle.hash == stamp.hash else { throw .hashMismatch }
            return .done(SyncOffer(stamp: stamp, bundle: bundle, ancestors: ancestors, modes: modes))
        case .hello, .request, .refusal:
            throw .outOfOrder("unexpected \(frame.type)")
        }
    }

    private mutating func readHeader(_ body: [UInt8]) throws(SyncTransferError) {
        var reader = ByteReader(body)
        guard let generation = reader.readUInt64(), let hash = reader.readBytes(32), let count = reader.readUInt16()
        else { throw .malformed("header") }
        guard Int(count) == expectedFiles else { throw .fileCount(peer: Int(count), local: expectedFiles) }
        var sum: UInt64 = 0
        var sizes: [Int] = []
        for _ in 0..<count {
            guard let size = reader.readUInt64() else { throw .malformed("header file sizes") }
            let (added, overflow) = sum.addingReportingOverflow(size)
            guard !overflow, added <= UInt64(limit) else {
                throw .tooLarge(size: overflow ? .max : added, limit: limit)
            }
            sum = added
            sizes.append(Int(size))
        }
        guard let ancestorCount = reader.readUInt8() else { throw .malformed("header ancestors") }
        var ancestors: [[UInt8]] = []
        for _ in 0..<ancestorCount {
            guard let ancestor = reader.readBytes(32) else { throw .malformed("header ancestors") }
            ancestors.append(Array(ancestor))
        }
        if version >= 2 {
            var modes: [UInt16] = []
            for _ in 0..<count {
                guard let mode = reader.readUInt16(), mode & ~0o777 == 0 else { throw .malformed("header file modes") }
                modes.append(mode)
            }
            // A server without a file's mode sends 0: no mode for the bundle, the receiver keeps its own rule.
            self.modes = modes.contains(0) ? nil : modes
        }
        guard reader.remaining == 0 else { throw .malformed("header has trailing bytes") }
        self.stamp = ConfigStamp(generation: generation, hash: Array(hash))
        self.sizes = sizes
        self.ancestors = ancestors
        self.total = Int(sum)
        data.reserveCapacity(total)
    }
}
