import Synchronization

/// Config bundles whose engine check passed moments ago, by hash. The same bytes are not checked again by the
/// reload that follows an accepted edit or an applied sync, nor by the watcher that sees a synced version land:
/// on the sync path each check is a process start and a full parse (docs/benchmarks.md, config sync).
/// Entries expire after ``lifetime``, since a check can also depend on files outside the bundle.
final class CheckedBundles: Sendable {
    static let lifetime = Duration.seconds(10)
    private let entries = Mutex<[(hash: [UInt8], warnings: [String], at: ContinuousClock.Instant)]>([])

    /// The warnings of these bytes' check when they passed it within ``lifetime``; nil otherwise.
    func passed(_ hash: [UInt8]) -> [String]? {
        let now = ContinuousClock.now
        return entries.withLock { list in
            list.removeAll { now - $0.at > Self.lifetime }
            return list.first { $0.hash == hash }?.warnings
        }
    }

    /// Records that these bytes passed the check now, with its warnings.
    func insert(_ hash: [UInt8], warnings: [String]) {
        let now = ContinuousClock.now
        entries.withLock { list in
            list.removeAll { $0.hash == hash || now - $0.at > Self.lifetime }
            list.append((hash, warnings, now))
            if list.count > 8 { list.removeFirst(list.count - 8) }
        }
    }
}
