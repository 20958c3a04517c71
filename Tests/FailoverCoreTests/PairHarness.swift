import FailoverCore
import FailoverWire

/// Two or more election cores wired together by hand: datagrams arrive after `delay`, VIP operations
/// complete at once, ticks every 10 ms. Small enough to read a test as a story.
struct Harness {
    var nodes: [Election?]
    var configurations: [ElectionConfiguration]
    var now = Instant.zero
    var delay = Duration.milliseconds(1)
    /// linkUp[from][to][link]
    var linkUp: [[[Bool]]]
    var vipHeld: [Bool]
    var sequences: [UInt64]
    var inFlight: [(at: Instant, to: Int, link: Int, envelope: Envelope)] = []
    var actions: [[ElectionAction]]
    var outcomes: [CommandID: CommandOutcome] = [:]
    var announcements: [Int] = []
    var maxHolders = 0
    var deliverVIPResults = true
    var pendingVIP: [(node: Int, result: VIPOperationResult, claim: Bool)] = []

    init(_ configurations: [ElectionConfiguration], startAt starts: [Duration]? = nil) {
        self.configurations = configurations
        let count = configurations.count
        nodes = Array(repeating: nil, count: count)
        linkUp = Array(
            repeating: Array(repeating: Array(repeating: true, count: configurations[0].linkCount), count: count),
            count: count
        )
        vipHeld = Array(repeating: false, count: count)
        sequences = Array(repeating: 0, count: count)
        actions = Array(repeating: [], count: count)
        for index in 0..<count where starts == nil || starts![index] == .zero {
            start(index)
        }
    }

    static func config(
        _ name: String,
        priority: UInt8 = 100,
        links: Int = 2,
        preempt: Bool = false
    ) -> ElectionConfiguration {
        ElectionConfiguration(name: NodeName(name)!, priority: priority, preempt: preempt, linkCount: links)
    }

    mutating func start(_ index: Int, bootID: UInt64? = nil) {
        let boot = bootID ?? UInt64(now.nanoseconds) + 1
        nodes[index] = Election(configuration: configurations[index], bootID: boot, now: now)
        sequences[index] = 0
        vipHeld[index] = false
        feed(index, .engine(ready: true))
    }

    /// Stops a node; with `keepVIP` the address stays on its interface (agent killed, host up).
    mutating func stop(_ index: Int, keepVIP: Bool = false) {
        nodes[index] = nil
        if !keepVIP { vipHeld[index] = false }
    }

    func role(_ index: Int) -> Role? { nodes[index]?.role }

    mutating func feed(_ index: Int, _ input: ElectionInput) {
        guard var election = nodes[index] else { return }
        let produced = election.step(input, at: now)
        nodes[index] = election
        actions[index].append(contentsOf: produced)
        for action in produced {
            switch action {
            case .send(let message, let link):
                sequences[index] += 1
                let envelope = Envelope(bootID: election.bootID, sequence: sequences[index], message: message)
                for target in nodes.indices where target != index && linkUp[index][target][link] {
                    inFlight.append((now + delay, target, link, envelope))
                }
            case .claimVIP(let operation):
                pendingVIP.append((index, VIPOperationResult(operation: operation), true))
            case .releaseVIP(let operation):
                pendingVIP.append((index, VIPOperationResult(operation: operation), false))
            case .announceVIP:
                announcements.append(index)
            case .commandFinished(let id, let outcome):
                outcomes[id] = outcome
            default:
                break
            }
        }
        if deliverVIPResults { completeVIP() }
    }

    mutating func completeVIP() {
        while !pendingVIP.isEmpty {
            let (node, result, claim) = pendingVIP.removeFirst()
            vipHeld[node] = claim
            maxHolders = max(maxHolders, vipHeld.filter { $0 }.count)
            feed(node, .vip(result))
        }
    }

    /// Advances time in 1 ms steps, ticking every node every 10 ms and delivering datagrams on time.
    mutating func run(for length: Duration) {
        let end = now + length
        while now < end {
            now = now + .milliseconds(1)
            let due = inFlight.filter { $0.at <= now }
            inFlight.removeAll { $0.at <= now }
            for item in due where nodes[item.to] != nil {
                feed(item.to, .receive(item.envelope, link: item.link))
            }
            if now.nanoseconds % 10_000_000 == 0 {
                for index in nodes.indices { feed(index, .tick) }
            }
            maxHolders = max(maxHolders, vipHeld.filter { $0 }.count)
        }
    }

    /// Cuts (or restores) every link between two nodes, both ways.
    mutating func setConnected(_ a: Int, _ b: Int, _ up: Bool) {
        for link in linkUp[a][b].indices {
            linkUp[a][b][link] = up
            linkUp[b][a][link] = up
        }
    }

    var primaries: [Int] { nodes.indices.filter { nodes[$0]?.role == .primary } }
    var holders: [Int] { vipHeld.indices.filter { vipHeld[$0] } }
}
