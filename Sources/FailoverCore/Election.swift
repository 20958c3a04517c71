public import FailoverWire

/// The election state machine of one node: pure, deterministic, driven by inputs and a clock value.
///
/// Feed it every input with ``step(_:at:)`` and perform the returned actions in order. It reads no clock,
/// does no I/O and keeps no timers: time passes only through the instants given to it. docs/election.md
/// describes the rules.
public struct Election: Sendable {
    /// The node's configuration.
    public let configuration: ElectionConfiguration
    /// This process's boot id (identifies this run to the peers).
    public let bootID: UInt64
    /// The node's role.
    public internal(set) var role: Role = .initializing
    /// This node's term: the term of its last claim, or the highest term it followed since.
    public internal(set) var term: UInt64 = 0
    /// When the role last changed.
    public internal(set) var roleSince: Instant
    /// Why the node is in its role.
    public internal(set) var reason = "starting: listening for peers"
    /// The node stays primary though unhealthy (engine not ready or witness unreachable) because no peer is
    /// healthy enough to take over: it goes back to a plain primary as soon as it is healthy again.
    public internal(set) var degraded = false
    /// The shared IP on this node, as the VIP driver reported it.
    public internal(set) var vip: VIPState = .released
    /// Whether an operator put the node in maintenance.
    public internal(set) var maintenance = false
    /// Whether the local proxy engine is ready.
    public internal(set) var engineReady = false
    /// Whether the witness answers (`nil`: not known yet).
    public internal(set) var witnessReachable: Bool?
    /// Why this node last took the role (nil: never in this run).
    public internal(set) var lastClaimCause: ClaimCause?
    /// Links with a bound socket, as the runtime reported (`nil`: not reported, taken as all of them).
    public internal(set) var linksBound: Int?
    /// The proxy configuration this node serves.
    public internal(set) var configStamp = ConfigStamp.none
    /// Every peer ever heard in this run.
    public internal(set) var peers: [NodeName: PeerState] = [:]
    /// The last transitions, oldest first.
    public internal(set) var history: [Transition] = []
    /// The planned handoff in progress, if any.
    public internal(set) var handoff: HandoffState?
    /// The highest term seen from any peer.
    public internal(set) var highestSeenTerm: UInt64 = 0

    let startedAt: Instant
    var lastStepAt: Instant
    /// Set after a stall: until `guardUntil`, peers alive at `stalledFrom` are still counted alive.
    var stall: (stalledFrom: Instant, guardUntil: Instant)?
    var nextHeartbeatAt: Instant
    var yield: Yield?
    var claimBackoff: (until: Instant, reason: String)?
    var engineUnreadySince: Instant?
    var healthyBackupSince: Instant?
    var preemptSuppressed = false
    var shutdown: (startedAt: Instant, deadline: Instant, complete: Bool)?
    var vipOperation: UInt64 = 0
    var releaseRetryAt: Instant?
    var handoffSerial: UInt64 = 0
    var lastConflictAnnounce: [NodeName: Instant] = [:]
    /// After the witness comes back, the node may have been cut off: it claims nothing by election before
    /// this instant (one dead interval of listening, as at startup).
    var listenUntil: Instant?
    /// Another node is taking over in a handoff between two other nodes (3+ node clusters): count it as a
    /// holder until it says so itself, or until the deadline.
    var expectedTakeover: (target: NodeName, until: Instant)?
    /// An operator command that completes when this node's VIP claim does.
    var claimCommand: (id: CommandID, startedAt: Instant)?

    /// Creates the election of a node that starts at `now`.
    public init(configuration: ElectionConfiguration, bootID: UInt64, now: Instant) {
        precondition(configuration.linkCount >= 1, "a node needs at least one link")
        self.configuration = configuration
        self.bootID = bootID
        self.startedAt = now
        self.lastStepAt = now
        self.roleSince = now
        self.nextHeartbeatAt = now
        self.history = [Transition(at: now, from: .initializing, to: .initializing, term: 0, reason: reason)]
    }

    /// Applies one input that happened at `now` and returns what to do, in order.
    public mutating func step(_ input: ElectionInput, at now: Instant) -> [ElectionAction] {
        var actions: [ElectionAction] = []
        noteTime(now)
        switch input {
        case .receive(let envelope, let link):
            receive(envelope, link: link, now: now, actions: &actions)
        case .tick:
            break
        case .engine(let ready):
            if ready != engineReady {
                engineReady = ready
                engineUnreadySince = ready ? nil : now
            }
        case .links(let bound):
            linksBound = bound
        case .witness(let reachable):
            if reachable && witnessReachable != true {
                listenUntil = now + configuration.deadInterval
            }
            witnessReachable = reachable
        case .vip(let result):
            vipResult(result, now: now, actions: &actions)
        case .localConfig(let stamp):
            configStamp = stamp
        case .command(let id, let command):
            handle(command, id: id, now: now, actions: &actions)
        case .shutdown:
            beginShutdown(now: now, actions: &actions)
        }
        evaluate(now: now, actions: &actions)
        if now >= nextHeartbeatAt {
            sendHeartbeats(now: now, actions: &actions)
        }
        return actions
    }

    /// Detects a stall of this process: a gap between two inputs longer than one heartbeat interval. The
    /// runtime ticks far more often, so such a gap means this process (or its VM) was not running, and the
    /// silence it saw is (partly) its own.
    private mutating func noteTime(_ now: Instant) {
        let gap = now - lastStepAt
        if gap > configuration.heartbeatInterval && !configuration.mutations.contains(.ignoreStalls) {
            // One heartbeat interval for the peer's next heartbeat to be sent, one more for its phase and
            // the path's delay: only then is silence the peer's and not ours.
            stall = (stalledFrom: lastStepAt, guardUntil: now + configuration.heartbeatInterval * 2)
        } else if let current = stall, now >= current.guardUntil {
            stall = nil
        }
        if now > lastStepAt { lastStepAt = now }
    }
}
