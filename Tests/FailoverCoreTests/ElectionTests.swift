import FailoverCore
import FailoverWire
import Testing

@Suite("Election")
struct ElectionTests {
    let lb1 = Harness.config("lb1", priority: 200)
    let lb2 = Harness.config("lb2", priority: 100)

    /// lb1 and lb2 with a witness configured, both reaching it.
    func withWitness() -> Harness {
        var first = lb1
        var second = lb2
        first.witnessConfigured = true
        second.witnessConfigured = true
        var pair = Harness([first, second])
        pair.feed(0, .witness(reachable: true))
        pair.feed(1, .witness(reachable: true))
        return pair
    }

    @Test("both start at once: nobody claims before one dead interval, then the higher priority wins")
    func startTogether() {
        var pair = Harness([lb1, lb2])
        pair.run(for: .milliseconds(240))
        #expect(pair.primaries.isEmpty)
        pair.run(for: .milliseconds(60))
        #expect(pair.primaries == [0])
        #expect(pair.role(1) == .backup)
        #expect(pair.holders == [0])
        #expect(pair.nodes[0]?.term == 1)
        pair.run(for: .seconds(5))
        #expect(pair.maxHolders == 1)
        #expect(pair.nodes[0]!.history.map(\.to) == [.initializing, .backup, .primary])
    }

    @Test("without preempt, a returning higher-priority node stays backup")
    func noPreempt() {
        var pair = Harness([lb1, lb2])
        pair.run(for: .seconds(1))
        pair.stop(0)
        pair.run(for: .milliseconds(400))
        #expect(pair.primaries == [1])
        pair.start(0)
        pair.run(for: .seconds(3))
        #expect(pair.primaries == [1])
        #expect(pair.role(0) == .backup)
    }

    @Test("with preempt, the higher-priority node takes the role back by a planned handoff")
    func preempt() {
        var pair = Harness([Harness.config("lb1", priority: 200, preempt: true), lb2])
        pair.run(for: .seconds(1))
        pair.stop(0)
        pair.run(for: .milliseconds(400))
        pair.start(0)
        pair.maxHolders = 0
        pair.run(for: .seconds(3))
        #expect(pair.primaries == [0])
        #expect(pair.holders == [0])
        #expect(pair.maxHolders == 1)
        #expect(pair.nodes[1]!.reason.contains("handed over to lb1 at its request"))
    }

    @Test("a silent primary is declared dead after the dead interval on every link, and the term goes up")
    func unplannedFailover() throws {
        var pair = Harness([lb1, lb2])
        pair.run(for: .seconds(1))
        pair.stop(0)
        let stoppedAt = pair.now
        pair.run(for: .milliseconds(240))
        #expect(pair.role(1) == .backup)
        pair.run(for: .milliseconds(40))
        #expect(pair.role(1) == .primary)
        let takeover = try #require(pair.nodes[1]!.history.last)
        #expect(takeover.at - stoppedAt <= .milliseconds(270))
        #expect(takeover.reason.hasPrefix("primary lb1 silent on all links"))
        #expect(pair.nodes[1]!.term == 2)
    }

    @Test("one link down is not a failure; all links down is")
    func links() {
        var pair = Harness([lb1, lb2])
        pair.run(for: .seconds(1))
        pair.linkUp[0][1][0] = false
        pair.linkUp[1][0][0] = false
        pair.run(for: .seconds(2))
        #expect(pair.primaries == [0])
        #expect(pair.role(1) == .backup)
        pair.setConnected(0, 1, false)
        pair.run(for: .milliseconds(300))
        #expect(pair.primaries.count == 2)
    }

    @Test("a planned failover releases on the old primary before the new one claims")
    func plannedFailover() throws {
        var pair = Harness([lb1, lb2])
        pair.run(for: .seconds(1))
        pair.maxHolders = 0
        pair.feed(0, .command(1, .failover))
        pair.run(for: .milliseconds(100))
        #expect(pair.primaries == [1])
        #expect(pair.holders == [1])
        #expect(pair.maxHolders == 1)
        let outcome = try #require(pair.outcomes[1])
        #expect(outcome.succeeded)
        #expect(outcome.message.contains("lb2 is primary and holds the VIP"))
        #expect(outcome.elapsed < .milliseconds(30))
        // The old primary released before the new one claimed.
        let released = pair.actions[0].firstIndex { if case .releaseVIP = $0 { true } else { false } }
        #expect(released != nil)
        // It does not preempt back: an operator placed the role.
        pair.run(for: .seconds(3))
        #expect(pair.primaries == [1])
    }

    @Test("failover from the backup asks the primary and reports when this node holds the VIP")
    func promoteFromBackup() throws {
        var pair = Harness([lb1, lb2])
        pair.run(for: .seconds(1))
        pair.feed(1, .command(7, .failover))
        pair.run(for: .milliseconds(100))
        #expect(pair.primaries == [1])
        #expect(pair.maxHolders == 1)
        let outcome = try #require(pair.outcomes[7])
        #expect(outcome.succeeded)
        #expect(outcome.message.hasPrefix("this node is primary"))
    }

    @Test("a failover with no peer fails with one clear line and changes nothing")
    func failoverWithoutPeer() throws {
        var pair = Harness([lb1, lb2])
        pair.run(for: .seconds(1))
        pair.setConnected(0, 1, false)
        pair.run(for: .milliseconds(300))
        pair.feed(0, .command(3, .failover))
        let outcome = try #require(pair.outcomes[3])
        #expect(!outcome.succeeded)
        #expect(outcome.message.hasPrefix("peer not reachable"))
        #expect(pair.role(0) == .primary)
        #expect(pair.holders.contains(0))
    }

    @Test("when the peer does not accept in time, the handoff is abandoned and nothing changes")
    func handoffTimeout() throws {
        var pair = Harness([lb1, lb2])
        pair.run(for: .seconds(1))
        pair.linkUp[1][0] = [false, false]  // lb2 hears lb1, but lb1 never hears the accept
        pair.feed(0, .command(4, .demote))
        pair.run(for: .milliseconds(1_100))
        pair.linkUp[1][0] = [true, true]
        pair.run(for: .seconds(1))
        let outcome = try #require(pair.outcomes[4])
        #expect(!outcome.succeeded)
        #expect(pair.primaries == [0])
        #expect(pair.maxHolders == 1)
    }

    @Test("two primaries after a partition: the higher term stays and announces again, the other steps down")
    func partitionHeal() {
        var pair = Harness([lb1, lb2])
        pair.run(for: .seconds(1))
        pair.setConnected(0, 1, false)
        pair.run(for: .seconds(1))
        #expect(pair.primaries == [0, 1])
        #expect(pair.nodes[1]!.term > pair.nodes[0]!.term)
        pair.announcements = []
        pair.setConnected(0, 1, true)
        pair.run(for: .milliseconds(60))
        #expect(pair.primaries == [1])
        #expect(pair.holders == [1])
        #expect(pair.announcements.contains(1))
        #expect(pair.nodes[0]!.reason.hasPrefix("two primaries: lb2 wins"))
    }

    @Test("a node that stalled longer than the dead interval waits for fresh input before declaring the peer dead")
    func stall() {
        var pair = Harness([lb1, lb2])
        pair.run(for: .seconds(1))
        // lb2 (backup) stalls for 1 s: no ticks and no datagrams processed, they queue up.
        let saved = pair.nodes[1]
        pair.stop(1, keepVIP: true)
        pair.run(for: .seconds(1))
        pair.nodes[1] = saved
        pair.inFlight.removeAll { $0.to == 1 }
        pair.feed(1, .tick)  // first thing after the stall: the tick, before any queued datagram
        #expect(pair.role(1) == .backup)
        pair.run(for: .milliseconds(200))
        #expect(pair.role(1) == .backup, "\(pair.nodes[1]!.history.map { "\($0.at) \($0.to) \($0.reason)" })")
        #expect(pair.primaries == [0])
    }

    @Test("the primary's engine: within the grace period nothing changes, after it the role moves")
    func engineFault() {
        var pair = Harness([lb1, lb2])
        pair.run(for: .seconds(1))
        pair.feed(0, .engine(ready: false))
        pair.run(for: .seconds(2))
        #expect(pair.primaries == [0])
        pair.feed(0, .engine(ready: true))
        pair.run(for: .seconds(2))
        #expect(pair.primaries == [0])
        pair.feed(0, .engine(ready: false))
        pair.run(for: .milliseconds(3_100))
        #expect(pair.primaries == [1])
        #expect(pair.role(0) == .fault)
        #expect(pair.maxHolders == 1)
    }

    @Test("started together, the higher priority wins even when its engine is slower to start (bounded wait)")
    func slowEngineAtStart() {
        var first = lb1
        var second = lb2
        first.peerStartWait = .seconds(2)
        second.peerStartWait = .seconds(2)
        var pair = Harness([first, second])
        pair.feed(0, .engine(ready: false))
        pair.run(for: .seconds(1))
        #expect(pair.primaries.isEmpty)
        #expect(pair.role(1) == .backup)
        #expect(pair.nodes[1]?.reason.contains("waiting for lb1") == true)
        pair.feed(0, .engine(ready: true))
        pair.run(for: .milliseconds(300))
        #expect(pair.primaries == [0])
        #expect(pair.nodes[1]!.history.map(\.to) == [.initializing, .backup])
        #expect(pair.maxHolders == 1)

        // An engine that never comes up delays the other node by the wait, no more.
        var stuck = Harness([first, second])
        stuck.feed(0, .engine(ready: false))
        stuck.run(for: .milliseconds(1_900))
        #expect(stuck.primaries.isEmpty)
        stuck.run(for: .milliseconds(200))
        #expect(stuck.primaries == [1])

        // A primary whose engine fails long after the start is not waited for: the grace, then the backup.
        var later = Harness([first, second])
        later.run(for: .seconds(5))
        later.feed(0, .engine(ready: false))
        later.run(for: .milliseconds(3_100))
        #expect(later.primaries == [1])
    }

    @Test("a node with no bound link never takes the role (it cannot hear its peer); once one is bound it may")
    func noLinkBound() {
        var pair = Harness([lb1, lb2], startAt: [.zero, .seconds(3_600)])
        pair.feed(0, .links(bound: 0))
        pair.run(for: .seconds(1))
        #expect(pair.holders.isEmpty)
        #expect(pair.role(0) == .fault)
        #expect(pair.nodes[0]!.reason.hasPrefix("no link is bound"))
        pair.feed(0, .links(bound: 1))
        pair.run(for: .seconds(1))
        #expect(pair.primaries == [0])
    }

    @Test("alone, a primary with a broken engine keeps the VIP: degraded beats down")
    func degraded() {
        var pair = Harness([lb1, lb2])
        pair.run(for: .seconds(1))
        pair.stop(1)
        pair.feed(0, .engine(ready: false))
        pair.run(for: .seconds(4))
        #expect(pair.primaries == [0])
        #expect(pair.nodes[0]!.reason.hasPrefix("degraded"))
    }

    @Test("a primary that hears neither peer nor witness releases; a backup claims only with the witness")
    func witness() {
        var pair = withWitness()
        pair.run(for: .seconds(1))
        #expect(pair.primaries == [0])
        pair.setConnected(0, 1, false)
        pair.feed(0, .witness(reachable: false))
        pair.run(for: .milliseconds(300))
        #expect(pair.role(0) == .fault)
        #expect(pair.role(1) == .primary)
        #expect(pair.holders == [1])
        pair.feed(1, .witness(reachable: false))
        pair.run(for: .milliseconds(50))
        #expect(pair.role(1) == .fault)
        #expect(pair.holders.isEmpty)
    }

    @Test("back from isolation, a node listens one dead interval before it claims anything")
    func backFromIsolation() {
        var pair = withWitness()
        pair.run(for: .seconds(1))
        pair.setConnected(0, 1, false)
        pair.feed(0, .witness(reachable: false))
        pair.run(for: .milliseconds(400))
        #expect(pair.role(0) == .fault)
        #expect(pair.holders == [1])
        // The network comes back: the witness answers a moment before the peer's first heartbeat arrives.
        pair.feed(0, .witness(reachable: true))
        pair.setConnected(0, 1, true)
        pair.run(for: .seconds(1))
        #expect(pair.role(0) == .backup)
        #expect(pair.holders == [1])
        #expect(pair.nodes[0]!.history.last?.to == .backup)
    }

    @Test("maintenance on the primary hands over first; a node in maintenance never becomes primary")
    func maintenance() throws {
        var pair = Harness([lb1, lb2])
        pair.run(for: .seconds(1))
        pair.feed(0, .command(5, .maintenance(true)))
        pair.run(for: .milliseconds(100))
        #expect(try #require(pair.outcomes[5]).succeeded)
        #expect(pair.role(0) == .maintenance)
        #expect(pair.primaries == [1])
        pair.stop(1)
        pair.run(for: .seconds(1))
        #expect(pair.role(0) == .maintenance)
        #expect(pair.holders.isEmpty)
        pair.feed(0, .command(6, .maintenance(false)))
        pair.run(for: .milliseconds(30))
        #expect(pair.role(0) == .primary)
    }

    @Test("SIGTERM on the primary: hand over, release, say goodbye; the VIP is never left behind")
    func shutdown() throws {
        var pair = Harness([lb1, lb2])
        pair.run(for: .seconds(1))
        pair.feed(0, .shutdown)
        pair.run(for: .milliseconds(50))
        #expect(pair.actions[0].contains(.shutdownComplete))
        #expect(pair.holders == [1])
        #expect(pair.maxHolders == 1)
        pair.stop(0)
        pair.run(for: .seconds(1))
        #expect(pair.primaries == [1])
    }

    @Test("SIGTERM on a lone primary releases and exits")
    func shutdownAlone() {
        var pair = Harness([lb1, lb2])
        pair.run(for: .seconds(1))
        pair.stop(1)
        pair.run(for: .seconds(1))
        pair.feed(0, .shutdown)
        pair.run(for: .milliseconds(10))
        #expect(pair.actions[0].contains(.shutdownComplete))
        #expect(pair.holders.isEmpty)
    }

    @Test("a failed VIP claim puts the node in fault, and the peer takes over")
    func claimFailure() {
        var pair = Harness([lb1, lb2])
        pair.deliverVIPResults = false
        pair.run(for: .milliseconds(300))
        #expect(pair.primaries == [0])
        let (node, result, _) = pair.pendingVIP.removeFirst()
        pair.feed(
            node,
            .vip(VIPOperationResult(operation: result.operation, failure: "RTNETLINK answers: Operation not permitted"))
        )
        #expect(pair.role(0) == .fault)
        #expect(pair.nodes[0]!.reason.contains("Operation not permitted"))
        pair.deliverVIPResults = true
        pair.run(for: .milliseconds(300))
        #expect(pair.primaries == [1])
    }

    @Test("an old datagram arriving late never overrides newer state")
    func reordering() throws {
        var pair = Harness([lb1, lb2])
        pair.run(for: .seconds(1))
        let stale = Envelope(
            bootID: pair.nodes[0]!.bootID,
            sequence: 1,
            message: Message(
                sender: NodeName("lb1")!,
                term: 0,
                role: .initializing,
                priority: 200,
                flags: [.engineReady, .witnessOK],
                config: .none,
                body: .heartbeat(HeartbeatTiming(sentAt: 1))
            )
        )
        pair.feed(1, .receive(stale, link: 0))
        let peer = try #require(pair.nodes[1]!.peers[NodeName("lb1")!])
        #expect(peer.latest.role == .primary)
    }

    @Test("status changes carry reasons and the history is bounded")
    func history() {
        var config = lb2
        config.historyLimit = 3
        var pair = Harness([lb1, config])
        pair.run(for: .seconds(1))
        for index in 0..<6 {
            pair.feed(1, .command(CommandID(100 + index), .maintenance(index % 2 == 0)))
        }
        #expect(pair.nodes[1]!.history.count == 3)
        #expect(pair.nodes[1]!.history.allSatisfy { !$0.reason.isEmpty })
    }
}

@Suite("Restart backoff")
struct RestartBackoffTests {
    @Test("doubles after quick failures up to the cap, and starts over after a stable run")
    func backoff() {
        var backoff = RestartBackoff(initial: .milliseconds(500), maximum: .seconds(4), stablePeriod: .seconds(60))
        let quick = (0..<6).map { _ in backoff.delay(afterRunOf: .seconds(1)) }
        #expect(quick == [.milliseconds(500), .seconds(1), .seconds(2), .seconds(4), .seconds(4), .seconds(4)])
        #expect(backoff.delay(afterRunOf: .seconds(61)) == .milliseconds(500))
        #expect(backoff.delay(afterRunOf: .seconds(1)) == .seconds(1))
    }
}
