/// A parsed proxy configuration: the documented subset of HAProxy's language (docs/proxy-config.md).
///
/// `listen` sections become a frontend and a backend of the same name.
public struct ProxyConfiguration: Hashable, Sendable {
    /// `global`: process-wide settings.
    public var maxConnections: Int?
    /// `global nbthread`: event loop threads (default: one per CPU). Read at start; a reload keeps the count.
    public var threads: Int?
    /// Frontends in file order.
    public var frontends: [Frontend]
    /// Backends in file order.
    public var backends: [Backend]
    /// Keywords accepted but ignored (performance tuning, logging), each with where it was.
    public var warnings: [ProxyConfigIssue]

    /// The backend with this name.
    public func backend(named name: String) -> Backend? { backends.first { $0.name == name } }
}

/// Where traffic comes in.
public struct Frontend: Hashable, Sendable {
    public var name: String
    public var line: Int
    public var binds: [BindAddress]
    public var mode: ProxyMode
    public var defaultBackend: String?
    public var rules: [BackendRule]
    public var acls: [ACL]
    public var timeouts: Timeouts
    public var maxConnections: Int?
    public var forwardFor: Bool
    public var stats: StatsSettings?
}

/// Where traffic goes.
public struct Backend: Hashable, Sendable {
    public var name: String
    public var line: Int
    public var mode: ProxyMode
    public var balance: BalanceAlgorithm
    public var servers: [Server]
    public var healthCheck: HealthCheck?
    public var timeouts: Timeouts
    public var retries: Int
    public var redispatch: Bool
    public var forwardFor: Bool
    public var cookie: StickyCookie?
    public var stats: StatsSettings?
}

/// One `server` line.
public struct Server: Hashable, Sendable {
    public var name: String
    public var line: Int
    public var address: String
    public var port: Int
    public var check: Bool
    public var interval: Duration
    public var rise: Int
    public var fall: Int
    public var backup: Bool
    public var weight: Int
    public var maxConnections: Int?
    public var disabled: Bool
    public var cookie: String?
}

/// `bind ADDR:PORT`: an address (empty = every IPv4 address, `::` = every address) and a port.
public struct BindAddress: Hashable, Sendable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }
    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// `mode`.
public enum ProxyMode: String, Hashable, Sendable {
    case tcp
    case http
}

/// `balance`.
public enum BalanceAlgorithm: String, Hashable, Sendable, CaseIterable {
    case roundrobin
    case leastconn
    case source
    case first
}

/// `use_backend NAME if ACL…` (all named ACLs must match; `!` negates one; `unless` negates all).
public struct BackendRule: Hashable, Sendable {
    /// One named ACL in a condition.
    public struct Condition: Hashable, Sendable {
        public var acl: String
        public var negated: Bool
    }

    public var backend: String
    public var conditions: [Condition]
    public var line: Int
}

/// `acl NAME CRITERION VALUE…`.
public struct ACL: Hashable, Sendable {
    public enum Criterion: String, Hashable, Sendable {
        case pathBegins = "path_beg"
        case path
        case host = "hdr(host)"
        case source = "src"
    }

    public var name: String
    public var criterion: Criterion
    public var values: [String]
    /// `-i`: compare without regard to case.
    public var ignoreCase: Bool

    public init(name: String, criterion: Criterion, values: [String], ignoreCase: Bool = false) {
        self.name = name
        self.criterion = criterion
        self.values = values
        self.ignoreCase = ignoreCase
    }
}

/// `timeout …`; nil where not set (the engine's defaults apply, docs/proxy-config.md).
public struct Timeouts: Hashable, Sendable {
    public var connect: Duration?
    public var client: Duration?
    public var server: Duration?
    public var check: Duration?
    public var httpRequest: Duration?
    public var httpKeepAlive: Duration?
}

/// `option httpchk [METHOD] URI` and `http-check expect status N`.
public struct HealthCheck: Hashable, Sendable {
    public var method: String
    public var uri: String
    public var expectStatus: Int?

    public init(method: String, uri: String, expectStatus: Int?) {
        self.method = method
        self.uri = uri
        self.expectStatus = expectStatus
    }
}

/// `cookie NAME insert indirect nocache`.
public struct StickyCookie: Hashable, Sendable {
    public var name: String
    public var insert: Bool
    public var indirect: Bool
    public var nocache: Bool

    public init(name: String, insert: Bool, indirect: Bool, nocache: Bool) {
        self.name = name
        self.insert = insert
        self.indirect = indirect
        self.nocache = nocache
    }
}

/// `stats enable`, `stats uri`, `stats refresh`.
public struct StatsSettings: Hashable, Sendable {
    public var uri: String
    public var refresh: Duration?

    public init(uri: String, refresh: Duration?) {
        self.uri = uri
        self.refresh = refresh
    }
}
