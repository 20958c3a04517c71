import FailoverCore
import FailoverWire
import Logging

extension AgentLoop {
    /// New content of the engine's config bundle on disk (docs/sync.md). On the primary a valid edit becomes
    /// the next generation, is announced in every heartbeat and reloaded into the engine. Anywhere, an invalid
    /// edit is refused (the engine keeps the last valid version). On a backup a valid local edit is drift:
    /// the primary is the source.
    mutating func configEdited(_ edit: ConfigEdit, now: Instant) {
        let serving = election.configStamp
        guard edit.valid else {
            let first = edit.problem.split(separator: "\n").first.map(String.init) ?? edit.problem
            configNote =
                "the config on disk fails the engine's check (generation \(serving.generation) stays in use): \(first)"
            logger.error(
                "config edit refused: the engine's check fails; nothing is reloaded or synced",
                metadata: ["problem": "\(edit.problem)"]
            )
            return
        }
        if !configInitialized {
            // At start: the stamp kept from the last run, or the next generation if the files changed since.
            configInitialized = true
            let kept = stampFile.load()
            let generation = kept.map { $0.hash == edit.hash ? $0.generation : $0.generation + 1 } ?? 1
            accept(ConfigStamp(generation: generation, hash: edit.hash), now: now, reload: false)
            return
        }
        if edit.hash == serving.hash {
            configNote = nil
            return
        }
        guard election.role == .primary else {
            configNote =
                "the config on disk was edited on this \(election.role) node: not synced and not reloaded; "
                + "edit on the primary, whose version is the source"
            logger.warning("\(configNote!)")
            return
        }
        let peer = election.alivePeers(at: now).first?.latest.config
        let generation = SyncPolicy.nextGeneration(local: serving, peer: peer)
        accept(ConfigStamp(generation: generation, hash: edit.hash), now: now, reload: true)
    }

    /// Serves and announces `stamp`, keeps it for the next start, and reloads the engine when asked.
    mutating func accept(_ stamp: ConfigStamp, now: Instant, reload: Bool) {
        stampFile.save(generation: stamp.generation, hash: stamp.hash)
        apply(election.step(.localConfig(stamp), at: now))
        configNote = nil
        logger.notice(
            "config generation accepted",
            metadata: ["generation": "\(stamp.generation)", "hash": "\(stamp.shortHash)"]
        )
        guard reload, let engineCommands else { return }
        let logger = self.logger
        engineCommands.yield(
            .reload { ok, message in
                logger.log(level: ok ? .notice : .error, "engine reload after the config edit: \(message)")
            }
        )
    }

    /// Once a second: what the sync rules say about this node and its peer.
    mutating func checkConfigSync(now: Instant) {
        guard configInitialized, let peer = election.alivePeers(at: now).first else { return }
        switch SyncPolicy.decide(
            role: election.role,
            local: election.configStamp,
            peer: (peer.name, peer.latest.role, peer.latest.config)
        ) {
        case .inSync:
            if configNote?.hasPrefix("differs") == true { configNote = nil }
        case .restamp(let generation):
            logger.notice(
                "the peer announces a generation at least ours with other bytes: ours stays the source, re-stamped",
                metadata: ["peer": "\(peer.name)", "peer_generation": "\(peer.latest.config.generation)"]
            )
            accept(ConfigStamp(generation: generation, hash: election.configStamp.hash), now: now, reload: false)
        case .fetch(let from, let stamp):
            configNote =
                "differs from \(from)'s generation \(stamp.generation) (\(stamp.shortHash)): the sync transfer is "
                + "not built yet (docs/sync.md); copy the file from the primary"
        case .wait(let reason):
            configNote = "differs from \(peer.name): \(reason)"
        }
    }
}
