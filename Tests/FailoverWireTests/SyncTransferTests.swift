import FailoverWire
import Testing

@Suite("Config sync transfer frames")
struct SyncTransferTests {
    static let serverNonce = [UInt8](repeating: 1, count: 16)
    static let clientNonce = [UInt8](repeating: 2, count: 16)

    static func offer(sizes: [Int] = [1_000, 200_000, 0]) -> SyncOffer {
        let files = sizes.enumerated().map { index, size in
            (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ index) }
        }
        let bundle = ConfigBundle(files: files)
        return SyncOffer(
            stamp: ConfigStamp(generation: 7, hash: bundle.hash),
            bundle: bundle,
            ancestors: [Array(repeating: 9, count: 32)]
        )
    }

    static func client(
        keyring: Keyring = Fixtures.keyring,
        nonce: [UInt8] = clientNonce,
        limit: Int = 16 << 20,
        files: Int = 3
    ) -> SyncClientSession {
        SyncClientSession(
            keyring: keyring,
            nonce: nonce,
            requester: "lb2",
            serving: 6,
            limit: limit,
            expectedFiles: files
        )
    }

    /// The server's frames for `offer` after a normal handshake with `client`.
    static func handshake(
        _ client: inout SyncClientSession
    ) throws -> [[UInt8]] {
        var server = SyncServerSession(keyring: Fixtures.keyring, nonce: serverNonce)
        guard case .send(let request) = try client.receive(server.hello()) else {
            Issue.record("no request after hello")
            return []
        }
        let asked = try server.receive(request)
        #expect(asked == SyncRequest(requester: "lb2", serving: 6))
        return server.response(offer())
    }

    @Test("a bundle of several files arrives whole, even one byte at a time")
    func roundTrip() throws {
        var client = Self.client()
        let frames = try Self.handshake(&client)
        #expect(frames.count == 1 + 1 + 4 + 1)  // header, 1 000 B, 200 000 B in four chunks, end
        var result: SyncOffer?
        let stream = frames.flatMap { $0 }
        for (index, byte) in stream.enumerated() {
            let step = try client.receive([byte])
            if case .done(let offer) = step {
                result = offer
                #expect(index == stream.count - 1)
            }
        }
        #expect(result == Self.offer())
        try client.closed()
    }

    @Test("every single-byte change to any frame of a transfer is refused")
    func tampering() throws {
        let server = SyncServerSession(keyring: Fixtures.keyring, nonce: Self.serverNonce)
        var probe = Self.client()
        let frames = try Self.handshake(&probe)
        let small = Array(frames.prefix(2)) + [frames.last!]  // header, first chunk, end: every byte position
        var refused = 0
        var positions = 0
        for (frameIndex, frame) in small.enumerated() {
            for position in 0..<min(frame.count, 1_200) {
                positions += 1
                var client = Self.client()
                _ = try client.receive(server.hello())
                var tampered = frames
                let target = frameIndex == 2 ? frames.count - 1 : frameIndex
                tampered[target][position] ^= 0x5A
                var done = false
                do {
                    for frame in tampered {
                        if case .done = try client.receive(frame) { done = true }
                    }
                    try client.closed()
                } catch {
                    refused += 1
                    continue
                }
                #expect(!done, "a tampered byte at \(position) of frame \(target) was accepted")
            }
        }
        #expect(refused == positions)
    }

    @Test("frames of another connection (another nonce) are refused: no replay")
    func replay() throws {
        let server = SyncServerSession(keyring: Fixtures.keyring, nonce: Self.serverNonce)
        var first = Self.client()
        let frames = try Self.handshake(&first)
        var second = Self.client(nonce: [UInt8](repeating: 3, count: 16))
        _ = try second.receive(server.hello())
        #expect(throws: SyncTransferError.badTag(.header)) { _ = try second.receive(frames[0]) }

        // A captured request does not open another server connection.
        var original = Self.client()
        guard case .send(let request) = try original.receive(server.hello()) else { return }
        var otherServer = SyncServerSession(keyring: Fixtures.keyring, nonce: [UInt8](repeating: 4, count: 16))
        _ = otherServer.hello()
        #expect(throws: SyncTransferError.badTag(.request)) { _ = try otherServer.receive(request) }
    }

    @Test("another cluster key, a bundle over the limit, another file count, a cut connection: each refused")
    func refusals() throws {
        let server = SyncServerSession(keyring: Fixtures.keyring, nonce: Self.serverNonce)
        var wrongKey = Self.client(keyring: Keyring(signing: Fixtures.otherKey))
        #expect(throws: SyncTransferError.badTag(.hello)) { _ = try wrongKey.receive(server.hello()) }

        var small = Self.client(limit: 100_000)
        let frames = try Self.handshake(&small)
        #expect(throws: SyncTransferError.tooLarge(size: 201_000, limit: 100_000)) { _ = try small.receive(frames[0]) }

        var fewer = Self.client(files: 2)
        _ = try Self.handshake(&fewer)
        #expect(throws: SyncTransferError.fileCount(peer: 3, local: 2)) { _ = try fewer.receive(frames[0]) }

        var cut = Self.client()
        _ = try Self.handshake(&cut)
        for frame in frames.dropLast(2) { _ = try cut.receive(frame) }
        #expect(throws: SyncTransferError.incomplete(received: 1_000 + 3 * 65_536, expected: 201_000)) {
            try cut.closed()
        }

        var skipped = Self.client()
        _ = try Self.handshake(&skipped)
        _ = try skipped.receive(frames[0])
        #expect(throws: SyncTransferError.outOfOrder("expected frame #1, got chunk #2")) {
            _ = try skipped.receive(frames[2])
        }

        var told = Self.client()
        var refusing = SyncServerSession(keyring: Fixtures.keyring, nonce: Self.serverNonce)
        guard case .send(let request) = try told.receive(refusing.hello()) else { return }
        _ = try refusing.receive(request)
        #expect(throws: SyncTransferError.refused("not primary")) {
            _ = try told.receive(refusing.refusal("not primary"))
        }
    }

    @Test("a declared frame length above the maximum is refused before anything is buffered")
    func hugeLength() throws {
        var client = Self.client()
        #expect(throws: SyncTransferError.malformed("a frame declares 4294967295 bytes")) {
            _ = try client.receive([0xFF, 0xFF, 0xFF, 0xFF])
        }
        var server = SyncServerSession(keyring: Fixtures.keyring, nonce: Self.serverNonce)
        #expect(throws: SyncTransferError.self) { _ = try server.receive([0, 0, 0, 1, 2, 3]) }
    }

    @Test("the bundle hash covers file boundaries: the same bytes split differently hash differently")
    func bundleHash() {
        let a = ConfigBundle(files: [[1, 2], [3]])
        let b = ConfigBundle(files: [[1], [2, 3]])
        #expect(a.hash != b.hash)
        #expect(a.hash == ConfigBundle(files: [[1, 2], [3]]).hash)
    }

    @Test("transfer version 2: asked for, the header carries each file's mode; version 1 carries none")
    func versionTwoModes() throws {
        var client = SyncClientSession(
            keyring: Fixtures.keyring,
            nonce: Self.clientNonce,
            requester: "lb2",
            serving: 6,
            limit: 16 << 20,
            expectedFiles: 3,
            version: 2
        )
        var server = SyncServerSession(keyring: Fixtures.keyring, nonce: Self.serverNonce)
        guard case .send(let request) = try client.receive(server.hello()) else {
            Issue.record("no request after hello")
            return
        }
        #expect(try server.receive(request) == SyncRequest(requester: "lb2", serving: 6, version: 2))
        var offer = Self.offer()
        offer.modes = [0o640, 0o600, 0o644]
        var result: SyncOffer?
        for frame in server.response(offer) {
            if case .done(let done) = try client.receive(frame) { result = done }
        }
        #expect(result?.modes == [0o640, 0o600, 0o644])
        #expect(result?.bundle == offer.bundle)
        // The same offer to a version 1 client: no modes travel, the bytes are the same.
        var old = Self.client()
        let frames = try Self.handshake(&old)
        var plain: SyncOffer?
        for frame in frames {
            if case .done(let done) = try old.receive(frame) { plain = done }
        }
        #expect(plain?.modes == nil && plain?.bundle == offer.bundle)
    }
}
