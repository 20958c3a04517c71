import Crypto
import FailoverWire
import Testing

@Suite("Datagram versions: version 2's advertisement, the core of newer versions, negotiation")
struct ProtocolVersionTests {
    static let bodies: [MessageBody] = [
        .heartbeat(HeartbeatTiming(sentAt: 42, echo: 7, echoHeld: 3)),
        .handoffRequest(HandoffRequest(handoffID: 77, intent: .offer, target: Fixtures.lb2)),
        .leaving,
    ]

    @Test("version 2 round trip: the message and the sender's advertisement", arguments: bodies)
    func roundTrip(body: MessageBody) throws {
        let envelope = Envelope(
            bootID: 9,
            sequence: 3,
            message: Fixtures.message(body),
            version: 2,
            advertisement: Fixtures.advertisement
        )
        let bytes = DatagramCodec.encode(envelope, key: Fixtures.key)
        #expect(bytes.count <= DatagramCodec.maximumLength)
        #expect(try DatagramCodec.decode(bytes, keyring: Fixtures.keyring) == envelope)
    }

    @Test("version 2 is version 1's layout with an extension block before the tag")
    func goldenExtension() {
        var sealer = DatagramSealer(keyring: Fixtures.keyring, bootID: 1, advertisement: Fixtures.advertisement)
        let one = sealer.seal(Fixtures.message(), version: 1)
        let two = sealer.seal(Fixtures.message())
        #expect(one[4] == 1 && two[4] == 2)
        let end = 76 + 3 + 24
        // Version 1: the tag right after the body, exactly as 0.3 sends it.
        #expect(one.count == end + 32)
        let product = Array("0.4.0-test".utf8)
        let block: [UInt8] = [1, 2, 1, 2, 2, 4, 0, 0, 0, 1, 3, UInt8(product.count)] + product
        #expect(Array(two[end..<(two.count - 32)]) == block)
        // Everything but the version byte and the sequence is the same up to the body's end.
        #expect(Array(one[0..<4]) == Array(two[0..<4]))
        #expect(Array(one[5..<16]) == Array(two[5..<16]))
        #expect(Array(one[24..<end]) == Array(two[24..<end]))
    }

    @Test("version 1 datagrams stay strict: nothing may follow the body")
    func versionOneStrict() {
        #expect(throws: WireError.lengthMismatch) {
            try DatagramCodec.decode(Fixtures.datagram() + [0], keyring: Fixtures.keyring)
        }
        var zero = Fixtures.datagram()
        zero[4] = 0
        #expect(throws: WireError.unsupportedVersion(0)) { try DatagramCodec.decode(zero, keyring: Fixtures.keyring) }
    }

    /// A datagram as a later release with the key could send: version `version`, another type byte and body,
    /// unknown flag bits, and an extension block with a field this build does not know.
    private func newer(version: UInt8, versions: ClosedRange<UInt8>, extra: [UInt8] = [9, 3, 1, 2, 3]) -> [UInt8] {
        var bytes = Array(Fixtures.datagram().dropLast(32))
        bytes[4] = version
        bytes[5] = 200  // a message type this build does not know
        bytes[6] |= 0x40  // a flag this build does not know
        bytes += extra
        bytes += [1, 2, versions.lowerBound, versions.upperBound, 3, 5] + Array("9.0.0".utf8)
        let tag = HMAC<SHA256>.authenticationCode(for: bytes, using: SymmetricKey(data: Fixtures.keyBytes))
        return bytes + Array(tag)
    }

    @Test("a newer version is authenticated and its core read: role, flags, term, boot, sequence, advertisement")
    func newerCore() throws {
        let envelope = try DatagramCodec.decode(newer(version: 7, versions: 7...7), keyring: Fixtures.keyring)
        #expect(envelope.version == 7 && envelope.readAsCore)
        #expect(envelope.message.role == .primary && envelope.message.term == 5)
        #expect(envelope.message.flags == [.engineReady, .holdsVIP, .witnessOK])
        #expect(envelope.message.sender == Fixtures.lb1)
        #expect(envelope.bootID == 0x1122_3344_5566_7788 && envelope.sequence == 1)
        #expect(envelope.message.body == .heartbeat(HeartbeatTiming(sentAt: 0)))
        #expect(envelope.advertisement?.versions == 7...7 && envelope.advertisement?.product == "9.0.0")
        // Signed with another key: refused like any forgery.
        var forged = newer(version: 7, versions: 7...7)
        forged[forged.count - 1] ^= 1
        #expect(throws: WireError.badTag) { try DatagramCodec.decode(forged, keyring: Fixtures.keyring) }
    }

    @Test("a cut or contradictory extension block: refused in version 2, the core still read in another version")
    func malformedExtension() throws {
        // Version 2's block is this build's own form: it must parse.
        #expect(throws: WireError.malformedExtension) {
            try DatagramCodec.decode(newer(version: 2, versions: 2...2, extra: [9, 200, 1]), keyring: Fixtures.keyring)
        }
        #expect(throws: WireError.malformedExtension) {
            try DatagramCodec.decode(newer(version: 2, versions: 3...4), keyring: Fixtures.keyring)
        }
        // Another release's block may have another form: its sender is still heard (never taken for silent).
        let cut = try DatagramCodec.decode(
            newer(version: 7, versions: 7...7, extra: [9, 200, 1]),
            keyring: Fixtures.keyring
        )
        #expect(cut.readAsCore && cut.message.role == .primary && cut.advertisement?.versions == 7...7)
        let contradictory = try DatagramCodec.decode(newer(version: 7, versions: 1...2), keyring: Fixtures.keyring)
        #expect(contradictory.readAsCore && contradictory.advertisement?.versions == 7...7)
    }

    private func envelope(
        boot: UInt64,
        version: UInt8,
        _ advertisement: ProtocolAdvertisement? = nil,
        from: NodeName = Fixtures.lb2
    ) -> Envelope {
        var message = Fixtures.message()
        message.sender = from
        return Envelope(bootID: boot, sequence: 1, message: message, version: version, advertisement: advertisement)
    }

    static let freshness = Duration.milliseconds(75)

    @Test("negotiation: both versions to an unheard peer, its version once heard, both again once it is quiet")
    func negotiation() {
        var negotiation = ProtocolNegotiation(local: Fixtures.advertisement, freshness: Self.freshness)
        let t0 = Duration.seconds(10)
        #expect(negotiation.versions(for: Fixtures.lb2, at: t0) == [2, 1])
        #expect(negotiation.versionsForAll(at: t0) == [2, 1])
        // A 0.3 peer: version 1 datagrams only.
        #expect(negotiation.heard(envelope(boot: 1, version: 1), at: t0) != nil)
        #expect(negotiation.versions(for: Fixtures.lb2, at: t0) == [1] && negotiation.versionsForAll(at: t0) == [1])
        #expect(negotiation.capabilities(of: Fixtures.lb2) == [])
        #expect(negotiation.heard(envelope(boot: 1, version: 1), at: t0) == nil)  // nothing new
        // Quiet for longer than the freshness (restarting, or a one-way link): both again.
        #expect(negotiation.versions(for: Fixtures.lb2, at: t0 + .milliseconds(100)) == [2, 1])
        // Upgraded: a new boot advertising 1-2.
        let t1 = t0 + .seconds(1)
        #expect(negotiation.heard(envelope(boot: 2, version: 2, Fixtures.advertisement), at: t1) != nil)
        #expect(negotiation.versions(for: Fixtures.lb2, at: t1) == [2])
        #expect(negotiation.capabilities(of: Fixtures.lb2).contains(.syncFileModes))
        // The version 1 copy of the same boot changes nothing it advertised.
        negotiation.heard(envelope(boot: 2, version: 1), at: t1)
        #expect(negotiation.versions(for: Fixtures.lb2, at: t1) == [2])
        // Rolled back: a new boot sending version 1 only.
        negotiation.heard(envelope(boot: 3, version: 1), at: t1)
        #expect(negotiation.versions(for: Fixtures.lb2, at: t1) == [1])
        #expect(!negotiation.isIncompatible(Fixtures.lb2))
    }

    @Test("negotiation: a peer known only from version 1 gets a newest copy every 10 s (a newer peer is found)")
    func probe() {
        var negotiation = ProtocolNegotiation(local: Fixtures.advertisement, freshness: Self.freshness)
        var now = Duration.seconds(1)
        negotiation.heard(envelope(boot: 1, version: 1), at: now)
        var probes = 0
        // 25 s of heartbeats every 50 ms, the peer heard each time.
        for _ in 0..<500 {
            now += .milliseconds(50)
            negotiation.heard(envelope(boot: 1, version: 1), at: now)
            let versions = negotiation.versionsForAll(at: now)
            #expect(versions.contains(1))
            if versions.contains(2) { probes += 1 }
        }
        #expect(probes == 2)
        // The peer was 0.4 after all (its version 2 copies had been lost): its advertisement ends the probes.
        negotiation.heard(envelope(boot: 1, version: 2, Fixtures.advertisement), at: now)
        #expect(negotiation.versionsForAll(at: now) == [2])
    }

    @Test("negotiation: a peer with no common version is incompatible, and gets this build's newest")
    func incompatible() {
        var negotiation = ProtocolNegotiation(local: Fixtures.advertisement, freshness: Self.freshness)
        let future = ProtocolAdvertisement(versions: 5...7, capabilities: [], product: "9.0.0")
        negotiation.heard(envelope(boot: 1, version: 7, future), at: .zero)
        #expect(negotiation.isIncompatible(Fixtures.lb2))
        #expect(negotiation.versions(for: Fixtures.lb2, at: .zero) == [2])
        // A newer peer that still reads 2 is not.
        let overlapping = ProtocolAdvertisement(versions: 2...3, capabilities: [], product: "0.5.0")
        negotiation.heard(envelope(boot: 2, version: 3, overlapping), at: .zero)
        #expect(!negotiation.isIncompatible(Fixtures.lb2))
        #expect(negotiation.versions(for: Fixtures.lb2, at: .zero) == [2])
    }

    @Test("a pair of this build and 0.3: the old node reads a copy of every message from the first on")
    func mixedPair() throws {
        // 0.3 reads version 1 only; its datagrams are version 1 (the codec still writes that layout).
        var new = DatagramSealer(keyring: Fixtures.keyring, bootID: 10, advertisement: Fixtures.advertisement)
        var negotiation = ProtocolNegotiation(local: Fixtures.advertisement, freshness: Self.freshness)
        // What 0.3's decoder checks: version 1 and nothing after the body.
        func oldReads(_ bytes: [UInt8]) -> Bool {
            bytes[4] == 1 && bytes.count == 76 + Int(bytes[34]) + Int(bytes[35]) + 32
        }
        let first = negotiation.versionsForAll(at: .zero).map { new.seal(Fixtures.message(), version: $0) }
        #expect(first.count == 2 && first.contains(where: oldReads))
        let fromOld = DatagramCodec.encode(envelope(boot: 77, version: 1), key: Fixtures.key)
        negotiation.heard(try DatagramCodec.decode(fromOld, keyring: Fixtures.keyring), at: .zero)
        for tick in 1...3 {
            let now = Duration.milliseconds(50 * tick)
            negotiation.heard(try DatagramCodec.decode(fromOld, keyring: Fixtures.keyring), at: now)
            let next = negotiation.versionsForAll(at: now).map { new.seal(Fixtures.message(), version: $0) }
            #expect(next.count == 1 && oldReads(next[0]))
            #expect(try DatagramCodec.decode(next[0], keyring: Fixtures.keyring).advertisement == nil)
        }
    }
}
