/// `stats enable`, `stats uri`, `stats refresh`, `stats auth`, `stats realm`, `stats hide-version`,
/// `stats scope`.
public struct StatsSettings: Hashable, Sendable {
    /// One `stats auth USER:PASSWORD`.
    public struct Credential: Hashable, Sendable {
        public var user: String
        public var password: String

        public init(user: String, password: String) {
            self.user = user
            self.password = password
        }
    }

    public var uri: String
    public var refresh: Duration?
    /// With any, the page answers 401 with `WWW-Authenticate: Basic realm="…"` to requests without one of
    /// these (HTTP Basic authentication, as HAProxy).
    public var credentials: [Credential]
    /// `stats realm`: HAProxy's default is "HAProxy Statistics".
    public var realm: String
    /// `stats hide-version`: the page names no version.
    public var hideVersion: Bool
    /// `stats scope NAME`: only these frontends and backends are shown (empty: all; `.` is the section
    /// holding the page).
    public var scope: [String]

    public init(
        uri: String,
        refresh: Duration?,
        credentials: [Credential] = [],
        realm: String = "HAProxy Statistics",
        hideVersion: Bool = false,
        scope: [String] = []
    ) {
        self.uri = uri
        self.refresh = refresh
        self.credentials = credentials
        self.realm = realm
        self.hideVersion = hideVersion
        self.scope = scope
    }
}
