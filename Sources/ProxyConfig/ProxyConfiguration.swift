/// A parsed proxy configuration: the documented subset of HAProxy's language (docs/proxy-config.md).
///
/// `listen` sections become a frontend and a backend of the same name.
public struct ProxyConfiguration: Hashable, Sendable {
    /// `global maxconn`: connections over all frontends; beyond it the engine stops accepting (as HAProxy).
    /// Without it, the engine derives one from its descriptor limit when it starts (``DescriptorBudget``).
    public var maxConnections: Int?
    /// The line of `global maxconn`, for errors about it.
    public var maxConnectionsLine: Int?
    /// `global nbthread`: event loop threads (default: one per CPU). Read at start; a reload keeps the count.
    public var threads: Int?
    /// Frontends in file order.
    public var frontends: [Frontend]
    /// Backends in file order.
    public var backends: [Backend]
    /// Keywords accepted with no observable effect, and other notices, each with where it was.
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
    /// `option forwardfor` as written in this section (or its defaults).
    public var forwardFor: ForwardFor?
    /// `option httpclose` / `http-server-close` as written in this section (or its defaults).
    public var connectionMode: ConnectionMode
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
    /// `option forwardfor` as written in this section (or its defaults).
    public var forwardFor: ForwardFor?
    /// `option httpclose` / `http-server-close` as written in this section (or its defaults).
    public var connectionMode: ConnectionMode
    public var cookie: StickyCookie?
    public var stats: StatsSettings?
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

/// How HTTP connections are kept: `option http-keep-alive` (the default), `option http-server-close`
/// (the server connection closes after each response) or `option httpclose` (both close).
public enum ConnectionMode: Int, Hashable, Sendable, Comparable {
    case keepAlive = 0
    case serverClose = 1
    case close = 2

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
}
