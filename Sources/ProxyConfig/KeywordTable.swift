/// Where a keyword is written.
public enum KeywordScope: String, Hashable, Sendable, CaseIterable {
    /// A line of the `global` section.
    case global
    /// A line of `defaults`, `frontend`, `backend` or `listen`.
    case proxy
    /// An option on a `server` line.
    case server
    /// An option on a `bind` line.
    case bind
}

/// What the engine does with a keyword: the one rule of docs/proxy-config.md, as data.
public enum KeywordSupport: Hashable, Sendable {
    /// Does what HAProxy 2.6 documents.
    case honoured
    /// Accepted with a warning: it changes nothing observable (traffic, security, logs, checks). The text
    /// says why.
    case noEffect(String)
    /// An error: the engine would behave differently. The text says why and what to do.
    case refused(String)
}

/// One keyword (or `option`, `timeout`, `stats`, `http-check` phrase, or server/bind option) the parser
/// knows, with what the engine does with it.
public struct KeywordEntry: Hashable, Sendable {
    /// The words that name it, as written: `maxconn`, `option httplog`, `timeout tunnel`, `tune.*` (any
    /// keyword with that prefix).
    public var phrase: String
    public var scope: KeywordScope
    public var support: KeywordSupport
    /// A line (for server and bind options: the option's words) as a configuration writes it. The tests
    /// parse it and check that the parser does what `support` says.
    public var example: String

    public init(_ phrase: String, _ scope: KeywordScope, _ support: KeywordSupport, example: String? = nil) {
        self.phrase = phrase
        self.scope = scope
        self.support = support
        self.example = example ?? phrase
    }

    /// Whether `phrase` names this entry (`tune.*` names every keyword starting with `tune.`).
    func matches(_ phrase: String) -> Bool {
        self.phrase.hasSuffix("*") ? phrase.hasPrefix(self.phrase.dropLast()) : phrase == self.phrase
    }
}

/// Every keyword the parser knows, and what the engine does with it. The parser takes its warnings and
/// refusals from here; docs/proxy-config.md holds the table generated from it (`failover-agent proxy
/// --keywords`), and a test checks that the two agree and that the parser does what each entry says.
public enum KeywordTable {
    /// The entry for `phrase` in `scope` (exact phrases before prefixes).
    public static func entry(_ phrase: String, in scope: KeywordScope) -> KeywordEntry? {
        entries.first { $0.scope == scope && !$0.phrase.hasSuffix("*") && $0.matches(phrase) }
            ?? entries.first { $0.scope == scope && $0.phrase.hasSuffix("*") && $0.matches(phrase) }
    }

    static let noLogs =
        "the engine writes no access or event log yet; remove the line, or run HAProxy (engine.kind = \"haproxy\")"
    static let logOnly = "only changes what is logged, and the engine logs nothing ('log' is refused)"
    static let processOwned = "the agent (or systemd) runs and supervises the engine in the foreground"
    static let noTLS =
        "only matters for TLS, which the engine does not terminate yet ('ssl' on bind and server lines is refused)"
    static let queueing =
        "requests wait in the backend's queue (bounded by 'timeout queue'); per-server queues, which this bounds, are not built"
    static let healthChecks15 =
        "this check type is not built yet; use 'option httpchk' or TCP connect checks, or run HAProxy"

    /// The table, in the order of docs/proxy-config.md.
    public static let entries: [KeywordEntry] = [
        // global
        KeywordEntry("maxconn", .global, .honoured, example: "maxconn 4096"),
        KeywordEntry("nbthread", .global, .honoured, example: "nbthread 2"),
        KeywordEntry("log", .global, .refused(noLogs), example: "log /dev/log local0"),
        KeywordEntry("daemon", .global, .noEffect(processOwned)),
        KeywordEntry("master-worker", .global, .noEffect(processOwned)),
        KeywordEntry("pidfile", .global, .noEffect(processOwned), example: "pidfile /run/haproxy.pid"),
        KeywordEntry(
            "user",
            .global,
            .noEffect("the engine runs as the account the agent starts it with (docs/install.md); it never needs root"),
            example: "user haproxy"
        ),
        KeywordEntry("group", .global, .noEffect("as 'user'"), example: "group haproxy"),
        KeywordEntry("uid", .global, .noEffect("as 'user'"), example: "uid 99"),
        KeywordEntry("gid", .global, .noEffect("as 'user'"), example: "gid 99"),
        KeywordEntry(
            "chroot",
            .global,
            .noEffect("the engine opens no files while it serves; the unit's sandbox confines it"),
            example: "chroot /var/lib/haproxy"
        ),
        KeywordEntry(
            "ulimit-n",
            .global,
            .noEffect("the engine uses the descriptor limit it is started with"),
            example: "ulimit-n 65536"
        ),
        KeywordEntry(
            "cpu-map",
            .global,
            .noEffect("the engine pins one event loop to each allowed CPU itself"),
            example: "cpu-map auto:1/1-2 0-1"
        ),
        KeywordEntry("busy-polling", .global, .noEffect("performance only")),
        KeywordEntry("maxpipes", .global, .noEffect("performance only (splicing)"), example: "maxpipes 1024"),
        KeywordEntry(
            "spread-checks",
            .global,
            .noEffect("checks still run every 'inter'; only their phase differs"),
            example: "spread-checks 5"
        ),
        KeywordEntry(
            "description",
            .global,
            .noEffect("a label for HAProxy's stats page"),
            example: "description edge pair"
        ),
        KeywordEntry("node", .global, .noEffect("a label for HAProxy's stats page"), example: "node lb1"),
        KeywordEntry("log-tag", .global, .noEffect(logOnly), example: "log-tag haproxy"),
        KeywordEntry("log-send-hostname", .global, .noEffect(logOnly)),
        KeywordEntry("ca-base", .global, .noEffect(noTLS), example: "ca-base /etc/ssl/certs"),
        KeywordEntry("crt-base", .global, .noEffect(noTLS), example: "crt-base /etc/ssl/private"),
        KeywordEntry(
            "ssl-*",
            .global,
            .noEffect(noTLS),
            example: "ssl-default-bind-ciphers ECDH+AESGCM"
        ),
        KeywordEntry("tune.ssl.*", .global, .noEffect(noTLS), example: "tune.ssl.default-dh-param 2048"),
        KeywordEntry(
            "tune.bufsize",
            .global,
            .refused(
                "it changes the largest request head accepted; the engine's limit is 16 KiB, as HAProxy's default"
            ),
            example: "tune.bufsize 32768"
        ),
        KeywordEntry(
            "tune.maxrewrite",
            .global,
            .refused("it changes the largest request head accepted; the engine's limit is fixed"),
            example: "tune.maxrewrite 1024"
        ),
        KeywordEntry(
            "tune.http.maxhdr",
            .global,
            .refused("it changes how many header lines are accepted; the engine's limit is 200"),
            example: "tune.http.maxhdr 101"
        ),
        KeywordEntry("tune.*", .global, .noEffect("performance tuning only"), example: "tune.maxaccept 64"),
        KeywordEntry("maxcompcpuusage", .global, .noEffect("compression is refused"), example: "maxcompcpuusage 50"),
        KeywordEntry("maxcomprate", .global, .noEffect("compression is refused"), example: "maxcomprate 1000"),
        KeywordEntry("insecure-fork-wanted", .global, .noEffect("the engine forks nothing")),
        KeywordEntry("strict-limits", .global, .noEffect("the engine uses the limits it is started with")),
        KeywordEntry("external-check", .global, .noEffect("external checks ('option external-check') are refused")),
        KeywordEntry(
            "stats socket",
            .global,
            .noEffect("the engine has no runtime API yet; its state is on the stats page and in the agent's status"),
            example: "stats socket /run/haproxy/admin.sock mode 660 level admin"
        ),
        KeywordEntry("stats timeout", .global, .noEffect("as 'stats socket'"), example: "stats timeout 30s"),
        KeywordEntry(
            "nbproc",
            .global,
            .refused("HAProxy 2.5 and later refuse it too; threads are used instead (nbthread)"),
            example: "nbproc 1"
        ),
        KeywordEntry(
            "hard-stop-after",
            .global,
            .refused("the engine's drain time on stop and reload is set by the agent (engine grace)"),
            example: "hard-stop-after 30s"
        ),
        KeywordEntry(
            "grace",
            .global,
            .refused("the engine's drain time on stop and reload is set by the agent (engine grace)"),
            example: "grace 5s"
        ),
        KeywordEntry("lua-load", .global, .refused("Lua is not in the engine"), example: "lua-load /etc/haproxy/x.lua"),

        // defaults, frontend, backend, listen
        KeywordEntry("mode", .proxy, .honoured, example: "mode http"),
        KeywordEntry("bind", .proxy, .honoured, example: "bind 127.0.0.1:8443"),
        KeywordEntry("default_backend", .proxy, .honoured, example: "default_backend l"),
        KeywordEntry("use_backend", .proxy, .honoured, example: "use_backend l if api or !api"),
        KeywordEntry("acl", .proxy, .honoured, example: "acl api path_beg -i /api"),
        KeywordEntry("balance", .proxy, .honoured, example: "balance leastconn"),
        KeywordEntry("server", .proxy, .honoured, example: "server b 127.0.0.1:9001 check"),
        KeywordEntry("cookie", .proxy, .honoured, example: "cookie SRV insert indirect nocache"),
        KeywordEntry("retries", .proxy, .honoured, example: "retries 3"),
        KeywordEntry("maxconn", .proxy, .honoured, example: "maxconn 1000"),
        KeywordEntry("timeout connect", .proxy, .honoured, example: "timeout connect 5s"),
        KeywordEntry("timeout client", .proxy, .honoured, example: "timeout client 30s"),
        KeywordEntry("timeout server", .proxy, .honoured, example: "timeout server 30s"),
        KeywordEntry("timeout check", .proxy, .honoured, example: "timeout check 2s"),
        KeywordEntry("timeout http-request", .proxy, .honoured, example: "timeout http-request 10s"),
        KeywordEntry("timeout http-keep-alive", .proxy, .honoured, example: "timeout http-keep-alive 2s"),
        KeywordEntry("timeout tunnel", .proxy, .honoured, example: "timeout tunnel 1h"),
        KeywordEntry("timeout queue", .proxy, .honoured, example: "timeout queue 30s"),
        KeywordEntry(
            "timeout tarpit",
            .proxy,
            .noEffect("only used by tarpit rules, which the engine refuses"),
            example: "timeout tarpit 60s"
        ),
        KeywordEntry(
            "timeout client-fin",
            .proxy,
            .refused("the engine keeps a half-closed connection for 'timeout client'"),
            example: "timeout client-fin 30s"
        ),
        KeywordEntry(
            "timeout server-fin",
            .proxy,
            .refused("the engine keeps a half-closed connection for 'timeout server'"),
            example: "timeout server-fin 30s"
        ),
        KeywordEntry(
            "option httpchk",
            .proxy,
            .honoured,
            example: "option httpchk GET /health HTTP/1.1\\r\\nHost:\\ example.com"
        ),
        KeywordEntry("http-check expect", .proxy, .honoured, example: "http-check expect status 200-399"),
        KeywordEntry(
            "http-check send",
            .proxy,
            .honoured,
            example: "http-check send meth GET uri /health ver HTTP/1.1 hdr Host example.com"
        ),
        KeywordEntry(
            "option forwardfor",
            .proxy,
            .honoured,
            example: "option forwardfor except 127.0.0.0/8 header X-Real-IP if-none"
        ),
        KeywordEntry("option redispatch", .proxy, .honoured),
        KeywordEntry("option http-keep-alive", .proxy, .honoured),
        KeywordEntry("option http-server-close", .proxy, .honoured),
        KeywordEntry("option httpclose", .proxy, .honoured),
        KeywordEntry("stats enable", .proxy, .honoured),
        KeywordEntry("stats uri", .proxy, .honoured, example: "stats uri /stats"),
        KeywordEntry("stats refresh", .proxy, .honoured, example: "stats refresh 10s"),
        KeywordEntry("stats auth", .proxy, .honoured, example: "stats auth admin:secret"),
        KeywordEntry("stats realm", .proxy, .honoured, example: "stats realm Operations"),
        KeywordEntry("stats hide-version", .proxy, .honoured),
        KeywordEntry("stats scope", .proxy, .honoured, example: "stats scope l"),
        KeywordEntry(
            "stats admin",
            .proxy,
            .refused("the stats page has no admin actions; drain or disable servers through the agent"),
            example: "stats admin if TRUE"
        ),
        KeywordEntry("stats show-legends", .proxy, .noEffect("the engine's page has its own layout")),
        KeywordEntry("stats show-node", .proxy, .noEffect("the engine's page has its own layout")),
        KeywordEntry("stats show-desc", .proxy, .noEffect("the engine's page has its own layout")),
        KeywordEntry("log", .proxy, .refused(noLogs), example: "log global"),
        KeywordEntry("option httplog", .proxy, .noEffect(logOnly)),
        KeywordEntry("option tcplog", .proxy, .noEffect(logOnly)),
        KeywordEntry("option httpslog", .proxy, .noEffect(logOnly)),
        KeywordEntry("option dontlognull", .proxy, .noEffect(logOnly)),
        KeywordEntry("option dontlog-normal", .proxy, .noEffect(logOnly)),
        KeywordEntry("option log-health-checks", .proxy, .noEffect(logOnly)),
        KeywordEntry("option log-separate-errors", .proxy, .noEffect(logOnly)),
        KeywordEntry("option logasap", .proxy, .noEffect(logOnly)),
        KeywordEntry("option splice-auto", .proxy, .noEffect("performance only (the kernel's splice)")),
        KeywordEntry("option splice-request", .proxy, .noEffect("performance only (the kernel's splice)")),
        KeywordEntry("option splice-response", .proxy, .noEffect("performance only (the kernel's splice)")),
        KeywordEntry("option tcp-smart-accept", .proxy, .noEffect("performance only (TCP acknowledgements)")),
        KeywordEntry("option tcp-smart-connect", .proxy, .noEffect("performance only (TCP acknowledgements)")),
        KeywordEntry(
            "description",
            .proxy,
            .noEffect("a label for HAProxy's stats page"),
            example: "description web farm"
        ),
        KeywordEntry("id", .proxy, .noEffect("a number for HAProxy's stats and runtime API"), example: "id 10"),
        KeywordEntry(
            "fullconn",
            .proxy,
            .noEffect("only used with server 'minconn', which is refused"),
            example: "fullconn 1000"
        ),
        KeywordEntry(
            "option abortonclose",
            .proxy,
            .refused("the engine does not abort a queued or pending request when the client half-closes")
        ),
        KeywordEntry(
            "option http-buffer-request",
            .proxy,
            .refused("the engine streams request bodies as they arrive")
        ),
        KeywordEntry(
            "option tcpka",
            .proxy,
            .refused("the engine sets TCP keep-alive on client connections only (as 'option clitcpka')")
        ),
        KeywordEntry("option clitcpka", .proxy, .honoured),
        KeywordEntry(
            "option srvtcpka",
            .proxy,
            .refused("the engine sets no TCP keep-alive on server connections")
        ),
        KeywordEntry("option tcp-check", .proxy, .refused(healthChecks15)),
        KeywordEntry(
            "option mysql-check",
            .proxy,
            .refused(healthChecks15),
            example: "option mysql-check user haproxy"
        ),
        KeywordEntry(
            "option pgsql-check",
            .proxy,
            .refused(healthChecks15),
            example: "option pgsql-check user haproxy"
        ),
        KeywordEntry("option redis-check", .proxy, .refused(healthChecks15)),
        KeywordEntry("option ssl-hello-chk", .proxy, .refused(healthChecks15)),
        KeywordEntry(
            "option allbackups",
            .proxy,
            .refused(
                "the engine uses the first backup server only while no other is up; all backups at once is not built"
            )
        ),
        KeywordEntry(
            "option persist",
            .proxy,
            .refused("a sticky cookie whose server is down always moves to another server")
        ),
        KeywordEntry("option prefer-last-server", .proxy, .refused("the engine picks a server for every request")),

        // server options
        KeywordEntry("check", .server, .honoured),
        KeywordEntry("inter", .server, .honoured, example: "inter 2s"),
        KeywordEntry("fastinter", .server, .honoured, example: "fastinter 500ms"),
        KeywordEntry("downinter", .server, .honoured, example: "downinter 5s"),
        KeywordEntry("rise", .server, .honoured, example: "rise 2"),
        KeywordEntry("fall", .server, .honoured, example: "fall 3"),
        KeywordEntry("port", .server, .honoured, example: "port 8008"),
        KeywordEntry("addr", .server, .honoured, example: "addr 127.0.0.2"),
        KeywordEntry("backup", .server, .honoured),
        KeywordEntry("weight", .server, .honoured, example: "weight 10"),
        KeywordEntry("maxconn", .server, .honoured, example: "maxconn 100"),
        KeywordEntry("maxqueue", .server, .refused(queueing), example: "maxqueue 10"),
        KeywordEntry("disabled", .server, .honoured),
        KeywordEntry("cookie", .server, .honoured, example: "cookie s1"),
        KeywordEntry("id", .server, .noEffect("a number for HAProxy's stats and runtime API"), example: "id 3"),
        KeywordEntry(
            "init-addr",
            .server,
            .noEffect("server addresses are IP addresses, known at start"),
            example: "init-addr last,libc,none"
        ),
        KeywordEntry(
            "agent-inter",
            .server,
            .noEffect("only used with 'agent-check', which is refused"),
            example: "agent-inter 5s"
        ),
        KeywordEntry(
            "slowstart",
            .server,
            .refused("a server that comes back gets its full weight at once"),
            example: "slowstart 60s"
        ),
        KeywordEntry(
            "minconn",
            .server,
            .refused("dynamic connection limits are not built; use 'maxconn'"),
            example: "minconn 10"
        ),
        KeywordEntry("on-marked-down", .server, .refused("not built yet"), example: "on-marked-down shutdown-sessions"),
        KeywordEntry("send-proxy", .server, .refused("the PROXY protocol is not built yet")),
        KeywordEntry("send-proxy-v2", .server, .refused("the PROXY protocol is not built yet")),
        KeywordEntry("ssl", .server, .refused("TLS to servers is not built yet")),
        KeywordEntry("check-ssl", .server, .refused("TLS checks are not built yet")),
        KeywordEntry(
            "resolvers",
            .server,
            .refused("name resolution is not built yet; write an address"),
            example: "resolvers dns"
        ),
        KeywordEntry("agent-check", .server, .refused("agent checks are not built")),

        // bind options
        KeywordEntry("name", .bind, .noEffect("a label for HAProxy's stats page"), example: "name web"),
        KeywordEntry(
            "ssl",
            .bind,
            .refused("TLS termination is not built yet; run HAProxy (engine.kind = \"haproxy\")"),
            example: "ssl crt /etc/ssl/site.pem"
        ),
        KeywordEntry("accept-proxy", .bind, .refused("the PROXY protocol is not built yet")),
        KeywordEntry("v4v6", .bind, .refused("not built yet; bind '::' and an IPv4 address separately")),
        KeywordEntry("transparent", .bind, .refused("transparent binding is not built")),
    ]
}
