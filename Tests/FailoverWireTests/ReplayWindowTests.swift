import FailoverWire
import Testing

@Suite("Replay protection")
struct ReplayWindowTests {
    @Test("duplicates, too-old and stale-boot datagrams are refused; reordering within the window is fine")
    func window() {
        var window = ReplayWindow(bootID: 10, sequence: 100)
        #expect(window.check(bootID: 10, sequence: 100) == .duplicate)
        #expect(window.check(bootID: 10, sequence: 101) == .fresh)
        #expect(window.check(bootID: 10, sequence: 99) == .fresh)
        window.record(bootID: 10, sequence: 99)
        #expect(window.check(bootID: 10, sequence: 99) == .duplicate)
        #expect(window.check(bootID: 10, sequence: 36) == .tooOld)
        #expect(window.check(bootID: 10, sequence: 37) == .fresh)
        #expect(window.check(bootID: 9, sequence: 500) == .staleBoot)
        window.record(bootID: 10, sequence: 300)
        #expect(window.check(bootID: 10, sequence: 100) == .tooOld)
        #expect(window.check(bootID: 10, sequence: 299) == .fresh)
        window.record(bootID: 11, sequence: 1)
        #expect(window.check(bootID: 10, sequence: 301) == .staleBoot)
        #expect(window.check(bootID: 11, sequence: 1) == .duplicate)
        #expect(window.check(bootID: 11, sequence: 2) == .fresh)
    }

    @Test("the opener refuses replays, reflections and forgeries, and counts them by reason")
    func opener() {
        var opener = DatagramOpener(keyring: Fixtures.keyring, localName: Fixtures.lb2)
        let first = Fixtures.datagram(sequence: 1)
        #expect((try? opener.open(first).get()) != nil)
        #expect(opener.open(first) == .failure(.replay(.duplicate)))
        #expect(opener.open(first) == .failure(.replay(.duplicate)))
        var reflecting = DatagramOpener(keyring: Fixtures.keyring, localName: Fixtures.lb1)
        #expect(reflecting.open(first) == .failure(.fromSelf))
        var tampered = Fixtures.datagram(sequence: 2)
        tampered[20] ^= 1
        #expect(opener.open(tampered) == .failure(.wire(.badTag)))
        #expect(DatagramRejection.wire(.badTag).label == "bad_tag")
        #expect(DatagramRejection.replay(.duplicate).label == "replay_duplicate")
    }

    @Test("a restarted opener seeded with the last run's checkpoints refuses what that run had accepted")
    func checkpointsAcrossRestarts() throws {
        var first = DatagramOpener(keyring: Fixtures.keyring, localName: Fixtures.lb2)
        let captured = (1...70).map { Fixtures.datagram(sequence: UInt64($0)) }
        for bytes in captured { #expect((try? first.open(bytes).get()) != nil) }
        let text = ReplayCheckpoint.encode(first.checkpoints)
        #expect(text == "lb1 \(0x1122_3344_5566_7788) 70\n")

        // The next run, without checkpoints, would accept every captured datagram once more.
        var unprotected = DatagramOpener(keyring: Fixtures.keyring, localName: Fixtures.lb2)
        #expect((try? unprotected.open(captured[0]).get()) != nil)

        var restarted = DatagramOpener(
            keyring: Fixtures.keyring,
            localName: Fixtures.lb2,
            checkpoints: ReplayCheckpoint.decode(text)
        )
        #expect(restarted.open(captured[69]) == .failure(.replay(.duplicate)))
        #expect(restarted.open(captured[10]) == .failure(.replay(.duplicate)))
        #expect(restarted.open(captured[0]) == .failure(.replay(.tooOld)))
        // The peer's run goes on: its next datagrams are fresh.
        #expect((try? restarted.open(Fixtures.datagram(sequence: 71)).get()) != nil)
    }

    @Test("checkpoint files: damaged lines are skipped, the node's own name is ignored")
    func checkpointText() {
        let decoded = ReplayCheckpoint.decode("lb1 5 9\nbad line\nlb3 x 1\n\nlb2 7 8\n")
        #expect(
            decoded == [
                Fixtures.lb1: ReplayCheckpoint(bootID: 5, sequence: 9), Fixtures.lb2: .init(bootID: 7, sequence: 8),
            ]
        )
        let opener = DatagramOpener(keyring: Fixtures.keyring, localName: Fixtures.lb2, checkpoints: decoded)
        #expect(opener.checkpoints == [Fixtures.lb1: ReplayCheckpoint(bootID: 5, sequence: 9)])
    }

    @Test("the sealer numbers datagrams from 1")
    func sealer() throws {
        var sealer = DatagramSealer(keyring: Fixtures.keyring, bootID: 5, advertisement: Fixtures.advertisement)
        let a = try DatagramCodec.decode(sealer.seal(Fixtures.message()), keyring: Fixtures.keyring)
        let b = try DatagramCodec.decode(sealer.seal(Fixtures.message()), keyring: Fixtures.keyring)
        #expect(a.sequence == 1 && b.sequence == 2 && a.bootID == 5)
    }
}
