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

    @Test("the sealer numbers datagrams from 1")
    func sealer() throws {
        var sealer = DatagramSealer(keyring: Fixtures.keyring, bootID: 5)
        let a = try DatagramCodec.decode(sealer.seal(Fixtures.message()), keyring: Fixtures.keyring)
        let b = try DatagramCodec.decode(sealer.seal(Fixtures.message()), keyring: Fixtures.keyring)
        #expect(a.sequence == 1 && b.sequence == 2 && a.bootID == 5)
    }
}
