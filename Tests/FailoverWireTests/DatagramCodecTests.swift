import Crypto
import FailoverWire
import Testing

@Suite("Datagram codec")
struct DatagramCodecTests {
    static let bodies: [MessageBody] = [
        .heartbeat(HeartbeatTiming(sentAt: 42, echo: 7, echoHeld: 3)),
        .handoffRequest(HandoffRequest(handoffID: 77, intent: .offer, target: NodeName("lb2")!)),
        .handoffRequest(HandoffRequest(handoffID: 78, intent: .ask, target: NodeName("lb-2.a_b")!)),
        .handoffAccept(handoffID: 77),
        .handoffReject(handoffID: 77, reason: .engineNotReady),
        .released(handoffID: 77, target: NodeName("lb2")!),
        .leaving,
    ]

    @Test("every message type survives a round trip", arguments: bodies)
    func roundTrip(body: MessageBody) throws {
        let envelope = Envelope(bootID: 99, sequence: 12, message: Fixtures.message(body))
        let bytes = DatagramCodec.encode(envelope, key: Fixtures.key)
        #expect(bytes.count <= DatagramCodec.maximumLength)
        #expect(try DatagramCodec.decode(bytes, keyring: Fixtures.keyring) == envelope)
    }

    @Test("the header is laid out as docs/protocol.md says")
    func goldenHeader() {
        let bytes = Fixtures.datagram()
        #expect(Array(bytes[0..<4]) == Array("FOAG".utf8))
        #expect(bytes[4] == 1)  // version
        #expect(bytes[5] == MessageKind.heartbeat.rawValue)
        #expect(Array(bytes[6..<8]) == [0, 0b1110])  // engineReady | holdsVIP | witnessOK
        #expect(Array(bytes[8..<16]) == [0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88])  // boot id
        #expect(Array(bytes[16..<24]) == [0, 0, 0, 0, 0, 0, 0, 1])  // sequence
        #expect(Array(bytes[24..<32]) == [0, 0, 0, 0, 0, 0, 0, 5])  // term
        #expect(bytes[32] == Role.primary.rawValue)
        #expect(bytes[33] == 150)  // priority
        #expect(bytes[34] == 3)  // sender length
        #expect(bytes[35] == 24)  // heartbeat body length
        #expect(Array(bytes[36..<44]) == [0, 0, 0, 0, 0, 0, 0, 9])  // config generation
        #expect(Array(bytes[44..<76]) == Array(repeating: 0xAB, count: 32))
        #expect(Array(bytes[76..<79]) == Array("lb1".utf8))
        #expect(bytes.count == 76 + 3 + 24 + 32)
        let tag = HMAC<SHA256>.authenticationCode(
            for: bytes[..<(bytes.count - 32)],
            using: SymmetricKey(data: Fixtures.keyBytes)
        )
        #expect(Array(bytes.suffix(32)) == Array(tag))
    }

    @Test("any single flipped bit is rejected")
    func everyBitFlipRejected() {
        let bytes = Fixtures.datagram()
        for index in bytes.indices {
            for bit in 0..<8 {
                var copy = bytes
                copy[index] ^= UInt8(1) << UInt8(bit)
                #expect(throws: WireError.self) { try DatagramCodec.decode(copy, keyring: Fixtures.keyring) }
            }
        }
    }

    @Test("a datagram signed with another key is rejected as bad_tag")
    func wrongKey() {
        let bytes = DatagramCodec.encode(
            Envelope(bootID: 1, sequence: 1, message: Fixtures.message()),
            key: Fixtures.otherKey
        )
        #expect(throws: WireError.badTag) { try DatagramCodec.decode(bytes, keyring: Fixtures.keyring) }
    }

    @Test("the accepted second key verifies during a rotation")
    func rotation() throws {
        let bytes = DatagramCodec.encode(
            Envelope(bootID: 1, sequence: 1, message: Fixtures.message()),
            key: Fixtures.otherKey
        )
        let rotating = Keyring(signing: Fixtures.key, accepted: Fixtures.otherKey)
        #expect(try DatagramCodec.decode(bytes, keyring: rotating).message == Fixtures.message())
    }

    @Test("structural errors are typed")
    func structuralErrors() {
        let good = Fixtures.datagram()
        #expect(throws: WireError.truncated(length: 10)) {
            try DatagramCodec.decode(Array(good.prefix(10)), keyring: Fixtures.keyring)
        }
        #expect(throws: WireError.oversized(length: 600)) {
            try DatagramCodec.decode(good + Array(repeating: 0, count: 600 - good.count), keyring: Fixtures.keyring)
        }
        var magic = good
        magic[0] = UInt8(ascii: "X")
        #expect(throws: WireError.badMagic) { try DatagramCodec.decode(magic, keyring: Fixtures.keyring) }
        var version = good
        version[4] = 0
        #expect(throws: WireError.unsupportedVersion(0)) {
            try DatagramCodec.decode(version, keyring: Fixtures.keyring)
        }
        #expect(throws: WireError.lengthMismatch) {
            try DatagramCodec.decode(good + [0], keyring: Fixtures.keyring)
        }
    }

    /// Changes header bytes and signs again, as a peer with the key (a newer build) could.
    private func resigned(_ change: (inout [UInt8]) -> Void) -> [UInt8] {
        var bytes = Array(Fixtures.datagram().dropLast(32))
        change(&bytes)
        let tag = HMAC<SHA256>.authenticationCode(for: bytes, using: SymmetricKey(data: Fixtures.keyBytes))
        return bytes + Array(tag)
    }

    @Test("authenticated but unknown fields are typed errors")
    func authenticatedButUnknown() {
        #expect(throws: WireError.unknownType(99)) {
            try DatagramCodec.decode(resigned { $0[5] = 99 }, keyring: Fixtures.keyring)
        }
        #expect(throws: WireError.invalidRole(9)) {
            try DatagramCodec.decode(resigned { $0[32] = 9 }, keyring: Fixtures.keyring)
        }
        #expect(throws: WireError.unknownFlags(0x8000)) {
            try DatagramCodec.decode(
                resigned {
                    $0[6] = 0x80
                    $0[7] = 0
                },
                keyring: Fixtures.keyring
            )
        }
        #expect(throws: WireError.invalidSenderName) {
            try DatagramCodec.decode(resigned { $0[76] = UInt8(ascii: "/") }, keyring: Fixtures.keyring)
        }
        #expect(throws: WireError.malformedBody(.leaving)) {
            try DatagramCodec.decode(resigned { $0[5] = MessageKind.leaving.rawValue }, keyring: Fixtures.keyring)
        }
    }

    @Test("100 000 random and mutated datagrams: no trap, nothing accepted")
    func fuzz() {
        var seedState: UInt64 = 0x5EED
        let samples = MessageKind.allCases.map { kind -> [UInt8] in
            switch kind {
            case .heartbeat: Fixtures.datagram()
            case .handoffRequest:
                Fixtures.datagram(.handoffRequest(HandoffRequest(handoffID: 1, intent: .offer, target: Fixtures.lb2)))
            case .handoffAccept: Fixtures.datagram(.handoffAccept(handoffID: 1))
            case .handoffReject: Fixtures.datagram(.handoffReject(handoffID: 1, reason: .busy))
            case .released: Fixtures.datagram(.released(handoffID: 1, target: Fixtures.lb2))
            case .leaving: Fixtures.datagram(.leaving)
            }
        }
        var accepted = 0
        for round in 0..<100_000 {
            seedState = seedState &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            var rng = seedState
            func next() -> Int {
                rng ^= rng << 13
                rng ^= rng >> 7
                rng ^= rng << 17
                return Int(truncatingIfNeeded: rng & 0x7fff_ffff)
            }
            var bytes: [UInt8]
            if round % 2 == 0 {
                bytes = (0..<(next() % 700)).map { _ in UInt8(truncatingIfNeeded: next()) }
                if round % 4 == 0, bytes.count >= 5 { bytes.replaceSubrange(0..<5, with: Array("FOAG".utf8) + [1]) }
            } else {
                bytes = samples[next() % samples.count]
                for _ in 0..<(1 + next() % 4) {
                    switch next() % 3 {
                    case 0: bytes[next() % bytes.count] ^= UInt8(truncatingIfNeeded: 1 + next() % 255)
                    case 1: bytes.removeLast(min(bytes.count - 1, 1 + next() % 8))
                    default: bytes.append(UInt8(truncatingIfNeeded: next()))
                    }
                }
            }
            // A mutation can undo itself (drop the last byte, append the same one): that is the genuine datagram.
            if (try? DatagramCodec.decode(bytes, keyring: Fixtures.keyring)) != nil, !samples.contains(bytes) {
                accepted += 1
            }
        }
        #expect(accepted == 0)
    }
}
