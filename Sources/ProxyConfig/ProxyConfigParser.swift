/// Parses the documented subset of HAProxy's configuration language (docs/proxy-config.md).
///
/// Unsupported keywords are errors naming the file, line and keyword; keywords that only tune performance or
/// logging are accepted with a warning. Every problem is reported at once.
public enum ProxyConfigParser {
    /// Parses and validates `text` (read from `file`).
    public static func parse(_ text: String, file: String) throws(ProxyConfigError) -> ProxyConfiguration {
        var state = ParserState(file: file)
        var lineNumber = 0
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            guard let words = ConfigTokenizer.words(rawLine) else {
                state.error(lineNumber, String(rawLine.prefix(20)), "unterminated quote or trailing backslash")
                continue
            }
            guard !words.isEmpty else { continue }
            state.line(words, number: lineNumber)
        }
        state.finishSection()
        let configuration = state.validate()
        guard state.errors.isEmpty, let configuration else {
            throw ProxyConfigError(issues: state.errors.sorted { $0.line < $1.line })
        }
        return configuration
    }

    /// Keywords accepted and ignored (they tune performance, processes or logging); each gives a warning.
    public static let ignoredKeywords: Set<String> = [
        "daemon", "nbproc", "log", "log-tag", "user", "group", "uid", "gid", "chroot", "pidfile",
        "master-worker", "ca-base", "crt-base", "spread-checks", "maxcompcpuusage", "maxpipes", "description",
        "node", "hard-stop-after", "grace", "cpu-map", "busy-polling", "insecure-fork-wanted", "stats-file",
    ]

    /// `option` values accepted and ignored (logging and connection-mode tuning the engine decides itself).
    public static let ignoredOptions: Set<String> = [
        "httplog", "tcplog", "dontlognull", "http-server-close", "http-keep-alive", "log-health-checks",
        "splice-auto", "splice-request", "splice-response", "tcp-smart-accept", "tcp-smart-connect",
        "log-separate-errors", "logasap", "http-buffer-request", "abortonclose",
    ]
}

/// What a section of the file is.
enum SectionKind: String {
    case global
    case defaults
    case frontend
    case backend
    case listen
}

/// The settings a `defaults` section passes to the proxies after it.
struct DefaultSettings {
    var mode: ProxyMode = .tcp
    var timeouts = Timeouts()
    var balance: BalanceAlgorithm = .roundrobin
    var retries = 3
    var redispatch = false
    var forwardFor = false
    var maxConnections: Int?
    var healthCheck: HealthCheck?
    var expectStatus: Int?
}

/// A frontend, backend or listen section being read.
struct ProxySection {
    var kind: SectionKind
    var name: String
    var line: Int
    var settings: DefaultSettings
    var binds: [(BindAddress, Int)] = []
    var defaultBackend: (String, Int)?
    var rules: [BackendRule] = []
    var acls: [ACL] = []
    var servers: [Server] = []
    var cookie: (StickyCookie, Int)?
    var statsEnabled = false
    var statsURI: String?
    var statsRefresh: Duration?
}
