import ControlProtocol
import CoreMetrics
import FailoverCore
import FailoverWire
import Logging

/// The main loop's view of config sync: what is being fetched, when to retry, who waits for convergence.
struct SyncState {
    /// The latest valid content seen on disk.
    var lastEdit: ConfigEdit?
    /// The bytes of the version served.
    var served: ConfigBundle?
    /// The primary's stamp being fetched now.
    var inFlight: ConfigStamp?
    /// The stamp whose fetch failed last, and when to try again.
    var failed: ConfigStamp?
    var retryAt = Instant.zero
    var backoff = SyncState.freshBackoff
    /// `failoverctl sync` callers waiting for both nodes to serve the same version.
    var waiters: [(reply: @Sendable (ControlReply) -> Void, startedAt: Instant)] = []

    static let freshBackoff = RestartBackoff(
        initial: .milliseconds(500),
        maximum: .seconds(30),
        stablePeriod: .seconds(86_400)
    )
    /// Below failoverctl's own 15 s read timeout, so the operator sees the agent's reason.
    static let waitLimit = Duration.seconds(10)
}

extension AgentLoop {
    /// On every tick: what the sync rules say about this node and its live peer (docs/sync.md).
    mutating func checkConfigSync(now: Instant) {
        answerSyncWaiters(now: now)
        guard configInitialized || election.role != .primary, let peer = election.alivePeers(at: now).first else {
            return
        }
        switch SyncPolicy.decide(
            role: election.role,
            local: election.configStamp,
            peer: (peer.name, peer.latest.role, peer.latest.config)
        ) {
        case .inSync:
            if configNote?.kind == .differs { configNote = nil }
        case .restamp(let generation):
            logger.notice(
                "the peer announces a generation at least ours with other bytes: ours stays the source, re-stamped",
                metadata: ["peer": "\(peer.name)", "peer_generation": "\(peer.latest.config.generation)"]
            )
            let stamp = ConfigStamp(generation: generation, hash: election.configStamp.hash)
            accept(stamp, bundle: nil, origin: "re-stamped above \(peer.name)", now: now, reload: false)
        case .fetch(let from, let stamp):
            startFetch(from: from, stamp: stamp, now: now)
        case .wait(let reason):
            if sync.inFlight == nil {
                configNote = ConfigNote(kind: .differs, text: "differs from \(peer.name): \(reason)")
            }
        }
    }

    private mutating func startFetch(from: NodeName, stamp: ConfigStamp, now: Instant) {
        guard sync.inFlight == nil, let syncJobs else { return }
        if sync.failed != stamp {
            // A new version from the primary: try at once.
            sync.backoff = SyncState.freshBackoff
            sync.retryAt = .zero
        }
        guard now >= sync.retryAt else { return }
        sync.inFlight = stamp
        logger.info(
            "config sync: fetching",
            metadata: ["from": "\(from)", "generation": "\(stamp.generation)", "hash": "\(stamp.shortHash)"]
        )
        // Version 2 carries the files' modes; only a peer that advertised it gets asked for it.
        let version: UInt8 = negotiation.capabilities(of: from).contains(.syncFileModes) ? 2 : 1
        syncJobs.yield(
            .fetch(
                from: from.value,
                stamp: stamp,
                serving: election.configStamp,
                keyring: sealer.keyring,
                version: version
            )
        )
    }

    /// The sync worker finished a fetch.
    mutating func syncFinished(_ outcome: SyncOutcome, now: Instant) {
        sync.inFlight = nil
        switch outcome {
        case .applied(let stamp, let bundle, let from, let rejectedPath):
            sync.failed = nil
            metrics.syncApplied.increment()
            accept(stamp, bundle: bundle, origin: "fetched from \(from)", now: now, reload: true)
            if let rejectedPath {
                configNote = ConfigNote(
                    kind: .keptRejected,
                    text: "the version on this node's disk before the sync from \(from) was never the primary's: "
                        + "kept as rejected in \(rejectedPath)"
                )
            }
        case .failed(let stamp, let reason):
            sync.failed = stamp
            let delay = sync.backoff.delay(afterRunOf: .zero)
            sync.retryAt = now + delay
            metrics.syncFailed.increment()
            configNote = ConfigNote(
                kind: .differs,
                text: "differs from the primary's generation \(stamp.generation) (\(stamp.shortHash)): sync failed: "
                    + "\(reason); the old config stays in use; retrying in \(delay.compactDescription)"
            )
            logger.error(
                "config sync failed; the old config stays in use",
                metadata: [
                    "generation": "\(stamp.generation)", "reason": "\(reason)",
                    "retry_in": "\(delay.compactDescription)",
                ]
            )
        }
    }

    /// `failoverctl sync`: on the primary, push its version now (re-stamped above the peer's, so the peer
    /// fetches at once whatever its backoff); on a backup, fetch now. Answers once both serve the same version.
    mutating func syncNow(reply: @escaping @Sendable (ControlReply) -> Void, now: Instant) {
        guard configInitialized || election.role != .primary else {
            reply(ControlReply(ok: false, message: configNote?.text ?? "no valid config yet", error: .refused))
            return
        }
        guard let peer = election.alivePeers(at: now).first else {
            reply(ControlReply(ok: false, message: "no peer alive: nothing to sync with", error: .refused))
            return
        }
        let local = election.configStamp
        if peer.latest.config == local {
            reply(
                ControlReply(
                    ok: true,
                    message: "in sync: generation \(local.generation) (\(local.shortHash)) here "
                        + "and on \(peer.name)",
                    elapsedMilliseconds: 0
                )
            )
            return
        }
        switch election.role {
        case .primary:
            let generation = SyncPolicy.nextGeneration(local: local, peer: peer.latest.config)
            accept(
                ConfigStamp(generation: generation, hash: local.hash),
                bundle: nil,
                origin: "pushed by failoverctl sync",
                now: now,
                reload: false
            )
        default:
            guard peer.latest.role == .primary else {
                reply(
                    ControlReply(
                        ok: false,
                        message: "\(peer.name) is \(peer.latest.role), not primary: run "
                            + "failoverctl sync on the primary",
                        error: .refused
                    )
                )
                return
            }
            sync.failed = nil
        }
        sync.waiters.append((reply, now))
        checkConfigSync(now: now)
    }

    private mutating func answerSyncWaiters(now: Instant) {
        guard !sync.waiters.isEmpty else { return }
        let peer = election.alivePeers(at: now).first
        let local = election.configStamp
        let converged = peer?.latest.config == local
        var still: [(reply: @Sendable (ControlReply) -> Void, startedAt: Instant)] = []
        for waiter in sync.waiters {
            let elapsed = now - waiter.startedAt
            if converged, let peer {
                waiter.reply(
                    ControlReply(
                        ok: true,
                        message:
                            "in sync: generation \(local.generation) (\(local.shortHash)) here and on \(peer.name)",
                        elapsedMilliseconds: elapsed.milliseconds
                    )
                )
            } else if elapsed >= SyncState.waitLimit {
                waiter.reply(
                    ControlReply(
                        ok: false,
                        message: "not in sync after \(SyncState.waitLimit.compactDescription): "
                            + "\(configNote?.text ?? "the peer has not fetched yet")",
                        error: .refused,
                        elapsedMilliseconds: elapsed.milliseconds
                    )
                )
            } else {
                still.append(waiter)
            }
        }
        sync.waiters = still
    }
}
