import ControlProtocol
import FailoverConfig
import FailoverCore
import FailoverWire
import Logging

/// A job for the sync worker. The main loop sends these; the worker does the slow parts (network, disk,
/// the engine's check) one at a time and reports back with `AgentEvent.sync`.
enum SyncJob: Sendable {
    /// Fetch the primary's version (announced as `stamp`) and apply it if it is above `serving`.
    /// `version` is the transfer version to ask for (2: with the files' modes).
    case fetch(from: String, stamp: ConfigStamp, serving: ConfigStamp, keyring: Keyring, version: UInt8)
    /// Keep a version this node now serves in the history directory.
    case record(ConfigStamp, ConfigBundle, origin: String)
    /// List the kept versions.
    case list(@Sendable ([ConfigVersion]) -> Void)
}

/// How a fetch ended.
enum SyncOutcome: Sendable {
    /// The version is on disk (or was there already) and checked; the loop serves it and reloads the engine.
    case applied(ConfigStamp, ConfigBundle, from: String, rejectedKeptIn: String?)
    /// Nothing changed on disk; the reason says why, and what to do.
    case failed(ConfigStamp, reason: String)
}

/// Runs sync jobs in order: fetch, check, write atomically, keep history (docs/sync.md).
struct SyncWorker: Sendable {
    let fetcher: SyncFetcher
    let writer: BundleWriter
    let history: ConfigHistory?
    let launch: EngineLaunch
    let box: SyncOfferBox
    let events: AsyncStream<AgentEvent>.Continuation
    let logger: Logger

    func run(_ jobs: AsyncStream<SyncJob>) async {
        if let history { box.set(ancestors: history.servedHashes()) }
        for await job in jobs {
            switch job {
            case .fetch(let from, let stamp, let serving, let keyring, let version):
                let outcome = await fetch(
                    from: from,
                    announced: stamp,
                    serving: serving,
                    keyring: keyring,
                    version: version
                )
                events.yield(.sync(outcome))
            case .record(let stamp, let bundle, let origin):
                keep(bundle, stamp: stamp, rejected: false, origin: origin)
                if let history { box.set(ancestors: history.servedHashes()) }
            case .list(let reply):
                reply(history?.list() ?? [])
            }
        }
    }

    private func fetch(
        from: String,
        announced: ConfigStamp,
        serving: ConfigStamp,
        keyring: Keyring,
        version: UInt8
    ) async -> SyncOutcome {
        let started = ContinuousClock.now
        let offer: SyncOffer
        do {
            offer = try await fetcher.fetch(serving: serving.generation, keyring: keyring, version: version)
        } catch {
            return .failed(announced, reason: "\(error)")
        }
        guard SyncPolicy.mayApply(fetched: offer.stamp, serving: serving) else {
            return .failed(
                announced,
                reason:
                    "\(from) now serves generation \(offer.stamp.generation), not above ours (\(serving.generation))"
            )
        }
        let onDisk = BundleWriter.read(writer.paths)
        var rejectedPath: String?
        if onDisk.hash != offer.stamp.hash {
            let staged: [String]
            do {
                staged = try writer.stage(offer.bundle, modes: offer.modes)
            } catch {
                return .failed(offer.stamp, reason: "\(error)")
            }
            let check = await launch.checking(staged[0]).check()
            let (valid, problem) = (check.valid, check.output)
            for warning in check.repeated ? [] : check.warnings {
                logger.warning("synced engine config warning", metadata: ["warning": "\(warning)"])
            }
            guard valid else {
                writer.discard(staged)
                return .failed(
                    offer.stamp,
                    reason: "generation \(offer.stamp.generation) from \(from) fails this node's engine check, "
                        + "so it is not written: \(problem.split(separator: "\n").first ?? "")"
                )
            }
            // The bytes about to land passed the check: the reload and the watcher need not run it again.
            launch.checked?.insert(offer.stamp.hash, warnings: check.warnings)
            do {
                for warning in try writer.commit(staged, previous: onDisk) {
                    logger.warning(
                        "config sync: the new files are in place, but a rename may not survive a power loss",
                        metadata: ["error": "\(warning)"]
                    )
                }
            } catch {
                return .failed(offer.stamp, reason: "\(error)")
            }
            // Kept only once the new version is in place: a failed write leaves nothing marked rejected.
            if SyncPolicy.replaced(hash: onDisk.hash, fetched: offer.stamp, ancestors: offer.ancestors) == .rejected {
                rejectedPath = keep(
                    onDisk,
                    stamp: ConfigStamp(generation: serving.generation, hash: onDisk.hash),
                    rejected: true,
                    origin: "replaced by \(from)'s generation \(offer.stamp.generation), which never had it"
                )
            }
        }
        if onDisk.hash == offer.stamp.hash, let modes = offer.modes {
            // Same bytes: the files still take the primary's modes.
            for change in writer.conform(to: modes) {
                logger.notice("config sync: a file takes the primary's mode", metadata: ["change": "\(change)"])
            }
        }
        keep(offer.bundle, stamp: offer.stamp, rejected: false, origin: "fetched from \(from)")
        if let history { box.set(ancestors: history.servedHashes()) }
        logger.notice(
            "config sync: applied",
            metadata: [
                "from": "\(from)", "generation": "\(offer.stamp.generation)", "hash": "\(offer.stamp.shortHash)",
                "bytes": "\(offer.bundle.byteCount)", "ms": "\(Int((ContinuousClock.now - started).milliseconds))",
                "rejected_kept_in": "\(rejectedPath ?? "-")",
            ]
        )
        return .applied(offer.stamp, offer.bundle, from: from, rejectedKeptIn: rejectedPath)
    }

    @discardableResult
    private func keep(_ bundle: ConfigBundle, stamp: ConfigStamp, rejected: Bool, origin: String) -> String? {
        guard let history else { return nil }
        do {
            return try history.save(bundle, stamp: stamp, rejected: rejected, origin: origin)
        } catch {
            logger.warning(
                "could not keep a config version in the history directory",
                metadata: ["directory": "\(history.directory)", "error": "\(error)"]
            )
            return nil
        }
    }
}

extension EngineLaunch {
    /// The same engine, checking another config file (a staged copy), always with a run.
    func checking(_ path: String) -> EngineLaunch {
        var copy = self
        copy.config = path
        copy.checked = nil
        copy.checkArguments = checkArguments.map { $0 == config ? path : $0 }
        return copy
    }
}
