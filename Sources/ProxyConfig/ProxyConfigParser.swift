/// Parses the documented subset of HAProxy's configuration language (docs/proxy-config.md).
///
/// Every keyword and argument it accepts either does what HAProxy 2.6 documents or is an error naming the
/// file, line and reason; a warning is only for what changes nothing observable (``KeywordTable``). Every
/// problem is reported at once, warnings included.
public enum ProxyConfigParser {
    /// Parses and validates `text` (read from `file`). `readFile` reads the files a configuration names
    /// (`acl … -f FILE`), by the path as written (relative paths from the working directory, as HAProxy);
    /// nil for a file that cannot be read.
    public static func parse(
        _ text: String,
        file: String,
        readFile: @escaping (String) -> [UInt8]? = { _ in nil }
    ) throws(ProxyConfigError) -> ProxyConfiguration {
        var state = ParserState(file: file, readFile: readFile)
        let bytes = Array(text.utf8)
        var lineNumber = 0
        var start = 0
        while start < bytes.count {
            lineNumber += 1
            guard let end = bytes[start...].firstIndex(of: UInt8(ascii: "\n")) else {
                // As HAProxy 2.6: a file whose last line has no newline may have been cut short.
                state.error(
                    lineNumber,
                    "end of file",
                    "the last line has no newline: the file may have been truncated (HAProxy refuses it too); end it with a newline"
                )
                state.read(bytes[start...], number: lineNumber)
                break
            }
            state.read(bytes[start..<end], number: lineNumber)
            start = end + 1
        }
        state.finishSection()
        let configuration = state.validate()
        guard state.errors.isEmpty, let configuration else {
            throw ProxyConfigError(
                issues: state.errors.sorted { $0.line < $1.line },
                warnings: state.warnings.sorted { $0.line < $1.line }
            )
        }
        return configuration
    }
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
    var forwardFor: ForwardFor?
    var connectionMode = ConnectionMode.keepAlive
    var maxConnections: Int?
    var healthCheck: HealthCheck?
    /// `http-check send`, applied over `option httpchk` (with the line, to report it without httpchk).
    var checkSend: (HealthCheck, Int)?
    var expectStatus: ([ClosedRange<Int>], Int)?
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
    var statsCredentials: [StatsSettings.Credential] = []
    var statsRealm: String?
    var statsHideVersion = false
    var statsScope: [String] = []
}
