import FailoverCore
import FailoverWire

/// Something a stalled node will process when it resumes.
enum PendingInput {
    case datagram(link: Int, bytes: [UInt8], forged: Bool)
    case local(ElectionInput)
}

/// One simulated node: the real election core and wire codec, a simulated interface and VIP driver, and the
/// world's view of its engine and witness.
struct SimNode {
    let index: Int
    let name: NodeName
    var configuration: ElectionConfiguration

    /// Bumped on every start; events of an older incarnation are ignored.
    var incarnation = 0
    var election: Election?
    var sealer: DatagramSealer?
    var opener: DatagramOpener?
    var negotiation: ProtocolNegotiation?
    /// Which release the node runs; the previous one is modelled by what it sends and refuses.
    var release = SimRelease.current
    var stalledUntil: Instant?
    var pending: [PendingInput] = []
    var shuttingDownSince: Instant?

    /// The simulated interface: whether the VIP is on it.
    var vipHeld = false
    /// When the (sequential) VIP driver is free again.
    var driverFreeAt = Instant.zero
    /// The old primary, when the in-flight claim comes from a planned handoff.
    var claimHandoffFrom: String?

    /// The world: is the engine ready, does the witness answer.
    var engineReady = true
    var witnessReachable = true

    /// For the checker.
    var lastTerm: UInt64 = 0
    var healthySince: Instant?
    var holdingSince: Instant?
    var isolatedSince: Instant?
    /// Datagrams this incarnation accepted (a ring), for the forger's replays.
    var accepted: [[UInt8]] = []
    /// The newest boot id this incarnation accepted from each sender.
    var newestBoot: [NodeName: UInt64] = [:]

    /// What the agent's replay ledger keeps on disk across restarts (saved each second and at a clean stop):
    /// the opener's checkpoints, and the accepted datagrams and newest boots they cover (for the forger).
    var savedCheckpoints: [NodeName: ReplayCheckpoint] = [:]
    var savedAccepted: [[UInt8]] = []
    var savedNewestBoot: [NodeName: UInt64] = [:]
    var lastCheckpointSave: Instant = .zero

    /// Keeps the replay checkpoints, as the agent's ``ReplayLedger`` writes them.
    mutating func saveCheckpoints(at now: Instant) {
        guard let opener else { return }
        savedCheckpoints = opener.checkpoints
        savedAccepted = accepted
        savedNewestBoot = newestBoot
        lastCheckpointSave = now
    }

    /// The config stamp served (kept across restarts, like the agent's stamp file).
    var config = ConfigStamp.none
    /// A config fetch is under way.
    var fetching = false
    /// Since when the node runs unstalled (start or resume).
    var activeSince: Instant?

    /// Whether the agent process runs (kept beside ``election`` so checks need not copy the core).
    var isRunning = false

    @inline(__always)
    func isStalled(at now: Instant) -> Bool {
        guard let until = stalledUntil else { return false }
        return now < until
    }

    /// Running and able to process input now.
    @inline(__always)
    func isActive(at now: Instant) -> Bool { isRunning && !isStalled(at: now) }

    mutating func remember(accepted bytes: [UInt8], from sender: NodeName, bootID: UInt64) {
        if accepted.count >= 64 { accepted.removeFirst(16) }
        accepted.append(bytes)
        newestBoot[sender] = max(newestBoot[sender] ?? 0, bootID)
    }
}

/// One direction of one link between two nodes.
struct SimLink {
    var up = true
    var loss = 0.0
}

/// A release a simulated node runs.
enum SimRelease: Hashable, CustomStringConvertible {
    /// This build: datagram versions 1 and 2, negotiated.
    case current
    /// The previous release (0.3): sends version 1 only and refuses any other version unread.
    case protocolOne

    var advertisement: ProtocolAdvertisement {
        switch self {
        case .current:
            ProtocolAdvertisement(
                versions: ProtocolAdvertisement.supportedVersions,
                capabilities: .thisBuild,
                product: "current"
            )
        case .protocolOne: ProtocolAdvertisement(versions: 1...1, capabilities: [], product: "0.3.0")
        }
    }

    var other: SimRelease { self == .current ? .protocolOne : .current }

    var description: String { self == .current ? "the current release" : "the previous release (protocol 1)" }
}
