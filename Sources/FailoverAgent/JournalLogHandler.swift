import CFailoverNet
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// One line per event on stderr, `message key=value …`. Under systemd (stderr connected to the journal) each
/// line starts with the syslog priority `<N>` so the journal records the level; elsewhere with a UTC timestamp
/// and the level name.
public struct JournalLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    private let journal: Bool

    /// Creates a handler; `journal` is detected from `JOURNAL_STREAM` when nil.
    public init(level: Logger.Level = .info, journal: Bool? = nil) {
        self.logLevel = level
        self.journal = journal ?? (getenv("JOURNAL_STREAM") != nil)
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let extra = event.metadata { merged.merge(extra) { _, new in new } }
        var line =
            journal
            ? "<\(Self.priority(event.level))>"
            : "\(AgentClock.iso8601(nanosecondsSince1970: fa_wall_nanoseconds())) \(event.level) "
        line += "\(event.message)"
        for key in merged.keys.sorted() {
            line += " \(key)=\(Self.quoted("\(merged[key]!)"))"
        }
        line += "\n"
        var bytes = Array(line.utf8)
        _ = bytes.withUnsafeMutableBytes { write(2, $0.baseAddress, $0.count) }
    }

    static func priority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }

    static func quoted(_ value: String) -> String {
        guard value.isEmpty || value.contains(where: { $0 == " " || $0 == "\"" || $0 == "=" || $0 == "\n" }) else {
            return value
        }
        let escaped = value.replacingAll("\\", with: "\\\\").replacingAll("\"", with: "\\\"").replacingAll(
            "\n",
            with: "\\n"
        )
        return "\"\(escaped)\""
    }
}

extension String {
    func replacingAll(_ target: Character, with replacement: String) -> String {
        var out = ""
        for character in self {
            if character == target { out += replacement } else { out.append(character) }
        }
        return out
    }
}
