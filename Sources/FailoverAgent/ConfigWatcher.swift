import FailoverConfig
import FailoverWire
import Foundation
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// A change of the engine's config bundle (the config file and `engine.sync_files`, in that order), as seen
/// on disk: its SHA-256 and whether the engine's own check accepts it.
struct ConfigEdit: Sendable, Equatable {
    var hash: [UInt8]
    /// The bytes read.
    var bundle: ConfigBundle
    var valid: Bool
    /// The check's complaint when not valid.
    var problem: String
    /// The check's warnings.
    var warnings: [String] = []
}

/// Watches the bundle with a cheap poll (size, mtime and inode of each file every 50 ms; the bytes are
/// hashed only when one of those moved) and reports every new content, validated with the engine's check,
/// to the main loop. The loop decides what it means (a new generation on the primary, drift on the backup).
struct ConfigWatcher: Sendable {
    let launch: EngineLaunch
    let files: [String]
    let events: AsyncStream<AgentEvent>.Continuation
    let logger: Logger

    func run() async {
        var lastFingerprint: [String] = []
        var lastHash: [UInt8] = []
        while !Task.isCancelled {
            let fingerprint = files.map(Self.fingerprint)
            if fingerprint != lastFingerprint {
                lastFingerprint = fingerprint
                let bundle = BundleWriter.read(files)
                let hash = bundle.hash
                if hash != lastHash {
                    lastHash = hash
                    let check = await launch.check()
                    for warning in check.repeated ? [] : check.warnings {
                        logger.warning("engine config warning", metadata: ["warning": "\(warning)"])
                    }
                    events.yield(
                        .configEdited(
                            ConfigEdit(
                                hash: hash,
                                bundle: bundle,
                                valid: check.valid,
                                problem: check.output,
                                warnings: check.warnings
                            )
                        )
                    )
                }
            }
            try? await Task.sleep(for: .milliseconds(50))
        }
    }

    /// Size, modification time and inode: what moves when a file is written or replaced.
    static func fingerprint(_ path: String) -> String {
        var info = stat()
        guard stat(path, &info) == 0 else { return "missing" }
        return "\(info.st_size)/\(info.st_mtim.tv_sec).\(info.st_mtim.tv_nsec)/\(info.st_ino)"
    }
}

/// The stamp this node serves, kept across restarts in the state directory (`config-stamp`: generation and
/// hex hash on one line).
struct StampFile: Sendable {
    let path: String?

    func load() -> (generation: UInt64, hash: [UInt8])? {
        guard let path, let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        let words = text.split(whereSeparator: \.isWhitespace)
        guard words.count == 2, let generation = UInt64(words[0]), let hash = Hex.decode(words[1]),
            hash.count == 32
        else { return nil }
        return (generation, hash)
    }

    func save(generation: UInt64, hash: [UInt8]) {
        guard let path else { return }
        try? "\(generation) \(Hex.encode(hash))\n".write(toFile: path, atomically: true, encoding: .utf8)
    }
}
