import CoreMetrics
import FailoverConfig
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
            configNote = ConfigNote(
                kind: .invalidOnDisk,
                text: "the config on disk fails the engine's check (generation \(serving.generation) stays in use): "
                    + first
            )
            logger.error(
                "config edit refused: the engine's check fails; nothing is reloaded or synced",
                metadata: ["problem": "\(edit.problem)"]
            )
            return
        }
        sync.lastEdit = edit
        engineConfigWarnings = edit.warnings.count
        if !configInitialized {
            // At start: the stamp kept from the last run, or the next generation if the files changed since.
            configInitialized = true
            let kept = stampFile.load()
            let generation = kept.map { $0.hash == edit.hash ? $0.generation : $0.generation + 1 } ?? 1
            let stamp = ConfigStamp(generation: generation, hash: edit.hash)
            accept(stamp, bundle: edit.bundle, origin: "on disk at start", now: now, reload: false)
            return
        }
        if edit.hash == serving.hash {
            if configNote?.isAboutDisk == true { configNote = nil }
            return
        }
        // The sync worker is writing exactly this version: its report follows.
        if edit.hash == sync.inFlight?.hash { return }
        guard election.role == .primary else {
            let note = ConfigNote(
                kind: .editedOffPrimary,
                text: "the config on disk was edited on this \(election.role) node: not synced and not reloaded; "
                    + "edit on the primary, whose version is the source (this edit is kept as rejected at the next "
                    + "sync)"
            )
            configNote = note
            logger.warning("\(note.text)")
            return
        }
        let peer = election.alivePeers(at: now).first?.latest.config
        let generation = SyncPolicy.nextGeneration(local: serving, peer: peer)
        let stamp = ConfigStamp(generation: generation, hash: edit.hash)
        accept(stamp, bundle: edit.bundle, origin: "edited on \(configuration.node.name)", now: now, reload: true)
    }

    /// On becoming primary: an edit made on disk while this node was backup is now the source.
    mutating func becamePrimary(now: Instant) {
        offerBox?.set(primary: true)
        guard let edit = sync.lastEdit, configInitialized, edit.hash != election.configStamp.hash else { return }
        logger.notice("this node is primary now: the edit on its disk becomes the next generation")
        configEdited(edit, now: now)
    }

    /// Serves and announces `stamp` (whose bytes are `bundle`), keeps it for the next start and in the history
    /// directory, and reloads the engine when asked.
    mutating func accept(_ stamp: ConfigStamp, bundle: ConfigBundle?, origin: String, now: Instant, reload: Bool) {
        stampFile.save(generation: stamp.generation, hash: stamp.hash)
        apply(election.step(.localConfig(stamp), at: now))
        configNote = nil
        metrics.configGeneration.record(Double(stamp.generation))
        if let bundle {
            sync.served = bundle
        }
        if let served = sync.served, served.hash == stamp.hash {
            offerBox?.set(stamp: stamp, bundle: served)
            syncJobs?.yield(.record(stamp, served, origin: origin))
        }
        logger.notice(
            "config generation accepted",
            metadata: ["generation": "\(stamp.generation)", "hash": "\(stamp.shortHash)", "origin": "\(origin)"]
        )
        guard reload, let engineCommands else { return }
        let logger = self.logger
        engineCommands.yield(
            .reload { ok, message in
                logger.log(level: ok ? .notice : .error, "engine reload after the config change: \(message)")
            }
        )
    }
}
