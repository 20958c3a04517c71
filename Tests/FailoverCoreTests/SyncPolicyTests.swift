import FailoverCore
import FailoverWire
import Testing

@Suite("Config sync rules")
struct SyncPolicyTests {
    let peerName = NodeName("lb2")!

    func stamp(_ generation: UInt64, _ byte: UInt8) -> ConfigStamp {
        ConfigStamp(generation: generation, hash: [UInt8](repeating: byte, count: 32))
    }

    @Test("a backup fetches a newer version from the primary, and only from the primary")
    func backupFetches() {
        let newer = stamp(5, 2)
        #expect(
            SyncPolicy.decide(role: .backup, local: stamp(4, 1), peer: (peerName, .primary, newer))
                == .fetch(from: peerName, stamp: newer)
        )
        guard case .wait = SyncPolicy.decide(role: .backup, local: stamp(4, 1), peer: (peerName, .backup, newer))
        else {
            Issue.record("a backup must not fetch from another backup")
            return
        }
        #expect(SyncPolicy.decide(role: .backup, local: newer, peer: (peerName, .primary, newer)) == .inSync)
        #expect(SyncPolicy.decide(role: .backup, local: newer, peer: nil) == .inSync)
    }

    @Test("a peer announcing generation 2^64-1 does not make the node trap (it stays at the maximum)")
    func extremeGeneration() {
        let extreme = stamp(.max, 2)
        #expect(
            SyncPolicy.decide(role: .primary, local: stamp(3, 1), peer: (peerName, .backup, extreme))
                == .restamp(generation: .max)
        )
        #expect(SyncPolicy.nextGeneration(local: stamp(3, 1), peer: extreme) == .max)
    }

    @Test("after a partition in which both edited, the primary's bytes win under a higher generation")
    func partitionBothEdited() {
        // The primary (term winner) edited to generation 6; the other side, primary during the partition,
        // reached generation 7 with other bytes.
        let primary = stamp(6, 0xA)
        let loser = stamp(7, 0xB)
        let decision = SyncPolicy.decide(role: .primary, local: primary, peer: (peerName, .backup, loser))
        #expect(decision == .restamp(generation: 8))
        // The loser does not fetch generation 6 (older than its own) …
        guard
            case .wait = SyncPolicy.decide(
                role: .backup,
                local: loser,
                peer: (NodeName("lb1")!, .primary, primary)
            )
        else {
            Issue.record("a backup must never take an older generation")
            return
        }
        // … but fetches the same bytes once re-stamped as 8.
        let restamped = stamp(8, 0xA)
        #expect(
            SyncPolicy.decide(role: .backup, local: loser, peer: (NodeName("lb1")!, .primary, restamped))
                == .fetch(from: NodeName("lb1")!, stamp: restamped)
        )
    }

    @Test("generations only go up: an edit on the primary goes above both nodes, a fetch never goes down")
    func monotonic() {
        #expect(SyncPolicy.nextGeneration(local: stamp(3, 1), peer: stamp(9, 2)) == 10)
        #expect(SyncPolicy.nextGeneration(local: stamp(3, 1), peer: nil) == 4)
        #expect(SyncPolicy.mayApply(fetched: stamp(4, 1), serving: stamp(3, 2)))
        #expect(!SyncPolicy.mayApply(fetched: stamp(3, 1), serving: stamp(3, 2)))
        #expect(!SyncPolicy.mayApply(fetched: stamp(2, 1), serving: stamp(3, 2)))
    }

    @Test("random stamp pairs: whatever the order of events, no decision ever lowers a node's generation")
    func neverLower() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2_000 {
            let local = stamp(UInt64.random(in: 0...5, using: &generator), UInt8.random(in: 0...2, using: &generator))
            let peer = stamp(UInt64.random(in: 0...5, using: &generator), UInt8.random(in: 0...2, using: &generator))
            for role in [Role.primary, .backup, .fault] {
                for peerRole in [Role.primary, .backup] {
                    switch SyncPolicy.decide(role: role, local: local, peer: (peerName, peerRole, peer)) {
                    case .fetch(_, let fetched):
                        #expect(fetched.generation > local.generation)
                        #expect(peerRole == .primary && role != .primary)
                    case .restamp(let generation):
                        #expect(generation > local.generation && generation > peer.generation)
                        #expect(role == .primary)
                    case .inSync:
                        #expect(local == peer)
                    case .wait:
                        #expect(local != peer)
                    }
                }
            }
        }
    }
}

@Suite("Config sync: what happens to a replaced version")
struct ReplacedVersionTests {
    @Test("a version the primary had is superseded; one it never had (local edit, partition loser) is rejected")
    func fate() {
        let fetched = ConfigStamp(generation: 5, hash: Array(repeating: 5, count: 32))
        let older: [UInt8] = Array(repeating: 4, count: 32)
        let local: [UInt8] = Array(repeating: 9, count: 32)
        #expect(SyncPolicy.replaced(hash: older, fetched: fetched, ancestors: [older]) == .superseded)
        #expect(SyncPolicy.replaced(hash: fetched.hash, fetched: fetched, ancestors: []) == .superseded)
        #expect(SyncPolicy.replaced(hash: local, fetched: fetched, ancestors: [older]) == .rejected)
    }
}
