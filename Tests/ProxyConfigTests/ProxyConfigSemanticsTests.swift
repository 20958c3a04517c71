import ProxyConfig
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// What the parser makes of HAProxy's syntax: each case checked against HAProxy 2.6 (haproxy -c, or the
/// requests it sends) when it was written.
@Suite("Proxy configuration: HAProxy's meaning")
struct ProxyConfigSemanticsTests {
    static func parse(_ text: String, files: [String: String] = [:]) throws(ProxyConfigError) -> ProxyConfiguration {
        try ProxyConfigParser.parse(text, file: "proxy.cfg") { files[$0].map { Array($0.utf8) } }
    }

    static let timeouts = "    timeout client 5s\n    timeout server 5s\n    timeout connect 5s\n"

    @Test("a CRLF file reads as HAProxy reads it; a lone CR ends its line")
    func crlf() throws {
        let text =
            "# saved on Windows\r\ndefaults\r\n    mode http\r\nlisten web\r\n    bind :80\rjunk\r\n"
            + "    server a 192.0.2.1:80 check\r\n"
        let configuration = try Self.parse(text)
        #expect(configuration.frontends.map(\.binds) == [[BindAddress(host: "0.0.0.0", port: 80)]])
        #expect(configuration.backends[0].servers.map(\.name) == ["a"])
        #expect(configuration.frontends[0].mode == .http)
    }

    @Test("escapes and quotes as HAProxy: control escapes, hex bytes, unknown escapes kept, single quotes literal")
    func escapes() throws {
        let text = ##"""
            listen l
                bind :80
                mode http
                option httpchk GET /a\qb\x41c\\d\#e HTTP/1.1\r\nHost:\ www.example.com\r\nX-A:\ b
                stats realm 'Ops\ Team'
                stats auth "ad min":'p#w'

            """##
        let configuration = try Self.parse(text)
        let check = try #require(configuration.backends[0].healthCheck)
        #expect(check.uri == "/a\\qbAc\\d#e")
        #expect(check.version == "HTTP/1.1")
        #expect(
            check.headers == [
                HealthCheck.Header(name: "Host", value: "www.example.com"), HealthCheck.Header(name: "X-A", value: "b"),
            ]
        )
        #expect(configuration.frontends[0].stats?.realm == "Ops\\ Team")
        #expect(
            configuration.frontends[0].stats?.credentials == [StatsSettings.Credential(user: "ad min", password: "p#w")]
        )
    }

    @Test("the check request is byte for byte what HAProxy 2.6 sends")
    func checkRequest() {
        #expect(HealthCheck().request == "OPTIONS / HTTP/1.0\r\n\r\n")
        let host = HealthCheck(
            method: "GET",
            uri: "/status",
            version: "HTTP/1.1",
            headers: [.init(name: "Host", value: "www.example.com")]
        )
        #expect(host.request == "GET /status HTTP/1.1\r\nhost: www.example.com\r\nconnection: close\r\n\r\n")
        #expect(HealthCheck(method: "PUT", uri: "/p").request == "PUT /p HTTP/1.0\r\ncontent-length: 0\r\n\r\n")
        #expect(
            HealthCheck(method: "POST", uri: "/p", version: "HTTP/1.1", headers: [.init(name: "Host", value: "q")])
                .request == "POST /p HTTP/1.1\r\nhost: q\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
        )
    }

    @Test("http-check send overrides option httpchk's request and adds headers; expect takes status ranges")
    func checkSend() throws {
        let text = """
            listen l
                bind :80
                mode http
                option httpchk HEAD /old
                http-check send meth GET uri /x ver HTTP/1.1 hdr Host a hdr X-Y z
                http-check expect status 200,301-302
                server s 192.0.2.1:80 check port 8008 addr 192.0.2.9 inter 3s fastinter 1s downinter 10s

            """
        let backend = try Self.parse(text).backends[0]
        let check = try #require(backend.healthCheck)
        #expect(check.request == "GET /x HTTP/1.1\r\nhost: a\r\nx-y: z\r\nconnection: close\r\n\r\n")
        #expect(check.accepts(status: 200) && check.accepts(status: 302))
        #expect(!check.accepts(status: 204) && !check.accepts(status: 303))
        let server = backend.servers[0]
        #expect(server.checkPort == 8008 && server.checkAddress == "192.0.2.9")
        #expect(server.interval == .seconds(3) && server.fastInterval == .seconds(1))
        #expect(server.downInterval == .seconds(10))
    }

    @Test("use_backend: 'unless A B' is !(A and B); 'or' joins terms")
    func conditions() throws {
        let text = """
            frontend f
                mode http
                bind :80
                acl office src 192.0.2.0/24
                acl admin hdr(host) admin.example.com
                acl api path_beg /api
                use_backend forbidden unless office admin
                use_backend api if api or admin !office
                default_backend api
            backend forbidden
                mode http
            backend api
                mode http

            """
        let rules = try Self.parse(text).frontends[0].rules
        let outsiderForAdmin: (String) -> Bool = { $0 == "admin" }
        #expect(rules[0].applies(outsiderForAdmin) == true)
        #expect(rules[0].applies { $0 == "admin" || $0 == "office" } == false)
        #expect(rules[0].applies { _ in false } == true)
        #expect(rules[1].terms.count == 2)
        #expect(rules[1].applies { $0 == "admin" } == true)
        #expect(rules[1].applies { $0 == "admin" || $0 == "office" } == false)
    }

    @Test("ACL flags are flags: -i anywhere before the values, -m, -f FILE, --")
    func aclFlags() throws {
        let text = """
            frontend f
                mode http
                bind :80
                acl blocked path_beg -f /etc/haproxy/blocked.lst
                acl api path -m beg /api
                acl host hdr(host) -m end -i .Example.com
                acl dash path -- -weird
                acl present hdr(host) -m found
                use_backend b if blocked
                default_backend b
            backend b
                mode http

            """
        let acls = try Self.parse(text, files: ["/etc/haproxy/blocked.lst": "# list\n/admin\n  /private\r\n\n"])
            .frontends[0].acls
        #expect(acls[0].values == ["/admin", "/private"] && acls[0].match == .beginning)
        #expect(acls[1].match == .beginning && acls[1].values == ["/api"])
        #expect(acls[2].match == .end && acls[2].ignoreCase && acls[2].values == [".Example.com"])
        #expect(acls[3].values == ["-weird"] && acls[3].match == .exact)
        #expect(acls[4].match == .found && acls[4].values.isEmpty)
    }

    @Test("option forwardfor keeps its arguments")
    func forwardFor() throws {
        let text =
            "listen l\n    bind :80\n    mode http\n    option forwardfor except 127.0.0.0/8 header X-Real-IP if-none\n"
        let forwardFor = try Self.parse(text).frontends[0].forwardFor
        #expect(forwardFor == ForwardFor(header: "X-Real-IP", except: "127.0.0.0/8", ifNone: true))
    }

    @Test("stats auth, realm, hide-version and scope are kept")
    func stats() throws {
        let text = """
            listen l
                bind :80
                mode http
                stats uri /s
                stats auth admin:secret
                stats auth ops:other
                stats realm Ops
                stats hide-version
                stats scope .

            """
        let stats = try #require(try Self.parse(text).frontends[0].stats)
        #expect(stats.credentials.map(\.user) == ["admin", "ops"])
        #expect(stats.realm == "Ops" && stats.hideVersion && stats.scope == ["."])
    }

    @Test("times: 0 is 'not set', the maximum is HAProxy's, tunnel is kept")
    func times() throws {
        let text = "listen l\n    bind :80\n    timeout client 0\n    timeout tunnel 2147483647\n"
        let timeouts = try Self.parse(text).frontends[0].timeouts
        #expect(timeouts.client == nil)
        #expect(timeouts.tunnel == .milliseconds(2_147_483_647))
    }

    @Test("a listen section's own default_backend and use_backend are honoured and checked")
    func listenRouting() throws {
        let text = "listen l\n    bind :80\n    default_backend other\nbackend other\n"
        #expect(try Self.parse(text).frontends[0].defaultBackend == "other")
    }

    @Test(
        "each keyword of the table does what the table says (honoured: no issue; no effect: a warning; refused: an error)"
    )
    func keywordTable() throws {
        for entry in KeywordTable.entries {
            let text: String
            switch entry.scope {
            case .global:
                text = "global\n    \(entry.example)\nlisten l\n    bind 127.0.0.1:80\n" + Self.timeouts
            case .proxy:
                text =
                    "listen l\n    bind 127.0.0.1:80\n    mode http\n" + Self.timeouts
                    + "    acl api path_beg /api\n    option httpchk\n    \(entry.example)\n    server a 127.0.0.1:81\n"
            case .server:
                text =
                    "listen l\n    bind 127.0.0.1:80\n" + Self.timeouts
                    + "    server a 127.0.0.1:81 check \(entry.example)\n"
            case .bind:
                text = "listen l\n" + Self.timeouts + "    bind 127.0.0.1:80 \(entry.example)\n"
            }
            let line = entry.scope == .global ? 2 : entry.scope == .proxy ? 9 : entry.scope == .server ? 6 : 5
            do {
                let configuration = try Self.parse(text)
                let here = configuration.warnings.filter { $0.line == line }
                switch entry.support {
                case .honoured:
                    #expect(here.isEmpty, "\(entry.phrase): \(here)")
                case .noEffect:
                    #expect(here.count == 1, "\(entry.phrase): expected one warning, got \(here)")
                case .refused:
                    Issue.record("\(entry.phrase): accepted, but the table says it is refused")
                }
            } catch {
                if case .refused = entry.support {
                    #expect(error.issues.contains { $0.line == line }, "\(entry.phrase): \(error)")
                } else {
                    Issue.record("\(entry.phrase): \(error)")
                }
            }
        }
    }
}

@Suite("Proxy configuration: the keyword table in the docs")
struct KeywordDocsTests {
    @Test("docs/proxy-config.md holds the table generated from the parser's (failover-agent proxy --keywords)")
    func docsMatchTable() throws {
        let root = URLPath.repositoryRoot(from: #filePath)
        let docs = try #require(URLPath.read(root + "/docs/proxy-config.md"), "docs/proxy-config.md not found")
        let begin = "<!-- keywords:begin (generated by: failover-agent proxy --keywords) -->\n"
        let end = "<!-- keywords:end -->"
        let start = try #require(docs.firstRange(of: begin), "the begin marker is missing")
        let stop = try #require(docs.firstRange(of: end), "the end marker is missing")
        let inDocs = String(docs[start.upperBound..<stop.lowerBound])
        #expect(
            inDocs == KeywordTable.markdown,
            "docs/proxy-config.md's keyword table is stale: regenerate it with failover-agent proxy --keywords"
        )
    }
}

/// Reading a file of the repository from a test (no Foundation in this target's other tests).
enum URLPath {
    static func repositoryRoot(from file: String) -> String {
        var parts = file.split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(3)  // Tests/ProxyConfigTests/FILE
        return parts.joined(separator: "/")
    }

    static func read(_ path: String) -> String? {
        guard let file = fopen(path, "r") else { return nil }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = fread(&buffer, 1, buffer.count, file)
            if count <= 0 { break }
            bytes += buffer[0..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
