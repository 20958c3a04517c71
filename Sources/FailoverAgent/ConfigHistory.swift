import ControlProtocol
import FailoverWire
import Foundation

/// The history directory (`STATE_DIR/history`): the versions of the config bundle this node served, and the
/// ones it had to give up (rejected), each in its own directory with its files and an `INFO` file:
///
///     history/20261129T221503.412Z-g12-3fa9c1d0e2b4/{INFO, 0-haproxy.cfg, 1-site.pem}
///     history/20261129T221744.031Z-g11-77ab01cd9e00-rejected/...
///
/// The newest 5 served and the newest 5 rejected versions are kept. Writing history is best effort: a failure
/// is logged and never stops a sync.
struct ConfigHistory: Sendable {
    let directory: String
    let names: [String]
    static let keep = 5

    init(directory: String, paths: [String]) {
        self.directory = directory
        self.names = paths.enumerated().map { index, path in
            "\(index)-\(path.split(separator: "/").last.map(String.init) ?? "file")"
        }
    }

    /// Keeps `bundle` unless the same bytes with the same status are already kept (a re-stamp only changes the
    /// generation); returns its directory.
    @discardableResult
    func save(_ bundle: ConfigBundle, stamp: ConfigStamp, rejected: Bool, origin: String) throws -> String {
        let fileManager = FileManager.default
        let suffix = "-g\(stamp.generation)-\(stamp.shortHash)\(rejected ? "-rejected" : "")"
        let same = "-\(stamp.shortHash)\(rejected ? "-rejected" : "")"
        if let existing = entries().first(where: { $0.hasSuffix(same) }) { return "\(directory)/\(existing)" }
        let now = Date()
        let name = Self.compactTime(now) + suffix
        let path = "\(directory)/\(name)"
        // The copies may hold private keys (side files): directories 0700, files 0600, whatever the umask.
        try fileManager.createDirectory(
            atPath: path,
            withIntermediateDirectories: true,
            attributes: [.posixPermissions: 0o700]
        )
        chmod(directory, 0o700)
        for (file, bytes) in zip(names, bundle.files) {
            let target = "\(path)/\(file)"
            guard fileManager.createFile(atPath: target, contents: Data(bytes), attributes: [.posixPermissions: 0o600])
            else {
                throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: target])
            }
            chmod(target, 0o600)
        }
        let info = [
            "generation=\(stamp.generation)",
            "hash=\(Hex.encode(stamp.hash))",
            "saved=\(Self.isoTime(now))",
            "status=\(rejected ? "rejected" : "served")",
            "origin=\(origin)",
        ]
        try (info.joined(separator: "\n") + "\n").write(toFile: "\(path)/INFO", atomically: true, encoding: .utf8)
        prune()
        return path
    }

    /// The kept versions, newest first.
    func list() -> [ConfigVersion] {
        entries().reversed().compactMap { name in
            guard let text = try? String(contentsOfFile: "\(directory)/\(name)/INFO", encoding: .utf8) else {
                return nil
            }
            var fields: [String: String] = [:]
            for line in text.split(separator: "\n") {
                guard let equals = line.firstIndex(of: "=") else { continue }
                fields[String(line[..<equals])] = String(line[line.index(after: equals)...])
            }
            return ConfigVersion(
                savedAt: fields["saved"] ?? "?",
                generation: UInt64(fields["generation"] ?? "") ?? 0,
                hash: String((fields["hash"] ?? "").prefix(12)),
                status: fields["status"] ?? "?",
                origin: fields["origin"] ?? "?",
                path: "\(directory)/\(name)"
            )
        }
    }

    /// The full hashes of the served versions kept, newest first (sent to a fetching peer as ancestors).
    func servedHashes() -> [[UInt8]] {
        entries().reversed().compactMap { name -> [UInt8]? in
            guard !name.hasSuffix("-rejected"),
                let text = try? String(contentsOfFile: "\(directory)/\(name)/INFO", encoding: .utf8),
                let line = text.split(separator: "\n").first(where: { $0.hasPrefix("hash=") })
            else { return nil }
            return Hex.decode(line.dropFirst(5))
        }
    }

    /// Directory names, oldest first (names start with the time).
    private func entries() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter { $0.contains("-g") }.sorted()
    }

    private func prune() {
        let all = entries()
        for rejected in [false, true] {
            let group = all.filter { $0.hasSuffix("-rejected") == rejected }
            for old in group.dropLast(Self.keep) {
                try? FileManager.default.removeItem(atPath: "\(directory)/\(old)")
            }
        }
    }

    static func compactTime(_ date: Date) -> String {
        var components = Calendar(identifier: .gregorian).dateComponents(
            in: TimeZone(identifier: "UTC")!,
            from: date
        )
        components.nanosecond = (components.nanosecond ?? 0) / 1_000_000
        return String(
            format: "%04d%02d%02dT%02d%02d%02d.%03dZ",
            components.year ?? 0,
            components.month ?? 0,
            components.day ?? 0,
            components.hour ?? 0,
            components.minute ?? 0,
            components.second ?? 0,
            components.nanosecond ?? 0
        )
    }

    static func isoTime(_ date: Date) -> String {
        ISO8601DateFormatter().string(from: date)
    }
}
