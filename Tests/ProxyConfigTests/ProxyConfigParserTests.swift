import ProxyConfig
import Testing

@Suite("Proxy configuration parser")
struct ProxyConfigParserTests {
    static func parse(_ text: String, files: [String: String] = [:]) throws -> ProxyConfiguration {
        try ProxyConfigParser.parse(text, file: "proxy.cfg") { files[$0].map { Array($0.utf8) } }
    }

    static func issues(_ text: String) -> [String] {
        do {
            _ = try ProxyConfigParser.parse(text, file: "proxy.cfg")
            return []
        } catch {
            return error.issues.map(\.description)
        }
    }

    @Test("a Fedora-style farm parses as HAProxy reads it")
    func fedoraFarm() throws {
        let text = """
            global
                maxconn 4096
                daemon

            defaults
                mode http
                timeout connect 5s
                timeout client 30s
                timeout server 30000
                option httplog

            listen fpo-wiki
                bind 0.0.0.0:10001
                balance roundrobin
                option httpchk GET /wiki/Infrastructure
                server app01 192.0.2.21:80 check inter 2s rise 2 fall 5
                server app02 192.0.2.22:80 check inter 2s rise 2 fall 5
                server app03 192.0.2.23:80 check inter 2s rise 2 fall 5 backup

            """
        let configuration = try Self.parse(text)
        #expect(configuration.maxConnections == 4096)
        #expect(configuration.frontends.count == 1)
        let frontend = configuration.frontends[0]
        #expect(frontend.binds == [BindAddress(host: "0.0.0.0", port: 10001)])
        #expect(frontend.defaultBackend == "fpo-wiki")
        #expect(frontend.mode == .http)
        let backend = try #require(configuration.backend(named: "fpo-wiki"))
        #expect(backend.servers.map(\.name) == ["app01", "app02", "app03"])
        #expect(backend.servers.map(\.backup) == [false, false, true])
        #expect(backend.servers[0].interval == .seconds(2))
        #expect(backend.servers[0].rise == 2 && backend.servers[0].fall == 5)
        #expect(backend.healthCheck == HealthCheck(method: "GET", uri: "/wiki/Infrastructure"))
        #expect(backend.timeouts.server == .seconds(30))
        #expect(configuration.warnings.map(\.keyword) == ["daemon", "option httplog"])
    }

    @Test("frontend and backend with ACL routing, sticky cookies, stats")
    func routing() throws {
        let text = """
            frontend www
                mode http
                bind :80
                bind [::]:80
                acl is_api path_beg /api
                acl is_admin hdr(host) -i admin.example.com
                acl office src 192.0.2.0/24
                use_backend api if is_api
                use_backend admin if is_admin office
                default_backend web
                option forwardfor
                stats enable
                stats uri /stats
                stats refresh 10s

            backend web
                mode http
                balance leastconn
                cookie SRV insert indirect nocache
                option httpchk
                http-check expect status 200
                server w1 192.0.2.31:8080 check cookie w1 weight 3
                server w2 192.0.2.32:8080 check cookie w2 disabled

            backend api
                mode http
                balance source
                server a1 [2001:db8::41]:9000 check

            backend admin
                mode http
                balance first
                server m1 192.0.2.51:80

            """
        let configuration = try Self.parse(text)
        let frontend = configuration.frontends[0]
        #expect(frontend.binds.map(\.description) == ["0.0.0.0:80", "[::]:80"])
        #expect(frontend.rules.map(\.backend) == ["api", "admin"])
        #expect(frontend.rules[1].aclNames == ["is_admin", "office"])
        #expect(frontend.forwardFor == ForwardFor())
        #expect(frontend.stats == StatsSettings(uri: "/stats", refresh: .seconds(10)))
        let web = try #require(configuration.backend(named: "web"))
        #expect(web.balance == .leastconn)
        #expect(web.cookie == StickyCookie(name: "SRV", insert: true, indirect: true, nocache: true))
        #expect(web.healthCheck == HealthCheck(method: "OPTIONS", uri: "/", expectStatus: [200...200]))
        #expect(web.servers[0].weight == 3)
        #expect(web.servers[1].disabled)
        #expect(configuration.backend(named: "api")?.servers[0].address == "2001:db8::41")
    }

    @Test("two hundred frontends on distinct ports")
    func manyFrontends() throws {
        var text = "defaults\n    mode tcp\n"
        for index in 0..<200 {
            text += "listen p\(index)\n    bind 0.0.0.0:\(20_000 + index)\n    server s 192.0.2.10:\(30_000 + index)\n"
        }
        let configuration = try Self.parse(text)
        #expect(configuration.frontends.count == 200)
        #expect(configuration.backends.count == 200)
    }

    @Test(
        "errors name file, line and keyword",
        arguments: [
            (
                "frontend f\n    bind :80\n    default_backend b\n    redirect location /x\n",
                "proxy.cfg:4: 'redirect': not supported"
            ),
            ("listen l\n    bind :80\n    balance random\n", "proxy.cfg:3: 'balance': 'random' is not supported"),
            (
                "backend b\n    server s1 web.example.com:80\n",
                "proxy.cfg:2: 'server': 'web.example.com:80' is not ADDR:PORT"
            ),
            ("backend b\n    server s1 192.0.2.1:80 check inter\n", "proxy.cfg:2: 'server s1 inter': needs a value"),
            ("backend b\n    server s1 192.0.2.1:80 ssl\n", "proxy.cfg:2: 'ssl': not supported: TLS"),
            (
                "frontend f\n    bind :80\n    default_backend nowhere\n",
                "proxy.cfg:3: 'default_backend': no backend named 'nowhere'"
            ),
            ("frontend f\n    bind :99999\n", "proxy.cfg:2: 'bind': ':99999' is not ADDR:PORT"),
            ("frontend f\n    default_backend b\nbackend b\n", "proxy.cfg:1: 'frontend': 'f' has no bind line"),
            (
                "listen a\n    bind :80\nlisten b\n    bind :80\n",
                "proxy.cfg:4: 'bind': 0.0.0.0:80 is already bound by 'a'"
            ),
            (
                "frontend f\n    mode http\n    bind :80\n    default_backend b\nbackend b\n    mode tcp\n",
                "proxy.cfg:4: 'default_backend': frontend 'f' is mode http but backend 'b' is mode tcp"
            ),
            (
                "frontend f\n    bind :80\n    acl x path_beg /a\n    use_backend b if x\nbackend b\n",
                "proxy.cfg:1: 'acl x': path_beg needs 'mode http'"
            ),
            (
                "frontend f\n    mode http\n    bind :80\n    use_backend b if missing\nbackend b\n    mode http\n",
                "proxy.cfg:4: 'use_backend': ACL 'missing' is not defined"
            ),
            ("backend b\n    cookie SRV insert\n", "proxy.cfg:2: 'cookie': sticky cookies need 'mode http'"),
            ("backend b\n    timeout connect soon\n", "proxy.cfg:2: 'timeout connect': 'soon' is not a time"),
            ("    maxconn 10\n", "proxy.cfg:1: 'maxconn': outside any section"),
            ("backend b\n    server s \"192.0.2.1:80\n", "unterminated quote"),
            ("global\n    lua-load x.lua\n", "proxy.cfg:2: 'lua-load': not supported: Lua"),
            ("global\n    bogus 1\n", "proxy.cfg:2: 'bogus': not supported in 'global'"),
            ("listen l :80\n", "proxy.cfg:1: 'listen': an address after the name is refused by HAProxy 2.6 too"),
            (
                "listen l\n    bind :80\n    log global\n",
                "proxy.cfg:3: 'log': not supported: the engine writes no access"
            ),
            (
                "listen l\n    bind :80\n    timeout client 110000d\n",
                "proxy.cfg:3: 'timeout client': '110000d' is too large"
            ),
            (
                "listen l\n    bind :80\n    timeout client 200000000000000d\n",
                "proxy.cfg:3: 'timeout client': '200000000000000d' is too large"
            ),
            ("listen l\n    bind :80\n    timeout client 25d\n", "proxy.cfg:3: 'timeout client': '25d' is too large"),
            (
                "listen l\n    bind :80\n    server s 192.0.2.1:80 check inter 2147483648\n",
                "'server s inter': '2147483648' is too large"
            ),
            ("", "proxy.cfg:1: 'frontend': nothing to listen on"),
            ("# only a comment\n", "proxy.cfg:1: 'frontend': nothing to listen on"),
            (
                "listen l\n    bind :80\n    server s 192.0.2.1:80",
                "proxy.cfg:3: 'end of file': the last line has no newline"
            ),
            (
                "listen l\n    bind :80\n    acl x path_beg -f /missing.lst\n",
                "cannot read the pattern file '/missing.lst'"
            ),
            ("listen l\n    bind :80\n    acl x path_beg -u 1 /a\n", "flag '-u' is not supported"),
            (
                "listen l\n    bind :80\n    acl x path_beg -m reg ^/a\n",
                "'-m reg' (regular expressions) is not supported"
            ),
            ("listen l\n    bind :80\n    option httpchk GET /h HTTP/2\n", "the version must be HTTP/1.0 or HTTP/1.1"),
            ("listen l\n    bind :80\n    option forwardfor except nowhere\n", "except 'nowhere' is not an address"),
            ("listen l\n    bind :80\n    option forwardfor header\n", "'header' needs a value"),
            ("listen l\n    bind :80\n    stats admin if TRUE\n", "'stats admin': not supported"),
            ("listen l\n    bind :80\n    http-check expect string OK\n", "only 'http-check expect status CODES'"),
            ("listen l\n    bind :80\n    http-check send meth GET\n", "'http-check send': needs 'option httpchk'"),
            ("listen l\n    bind :80\n    option httpchk\n    http-check send body x\n", "'body' is not supported"),
            ("listen l\n    bind :80\n    server s 192.0.2.1:80 slowstart 10s\n", "'slowstart': not supported"),
            (
                "listen l\n    bind :80\n    server s 192.0.2.1:80 addr nowhere\n",
                "'server s addr': 'nowhere' is not an IP"
            ),
            ("listen l\n    bind :80\n    timeout client-fin 1s\n", "'timeout client-fin': not supported"),
            ("listen l\n    bind :80\n    stats scope nowhere\n", "no frontend or backend named 'nowhere'"),
            ("listen l\n    bind :80\n    bind :81 ssl crt /x.pem\n", "'ssl': not supported: TLS termination"),
            (
                "frontend f\n    bind :80\n    default_backend nowhere\nlisten l\n    bind :81\n    use_backend missing if x\n",
                "proxy.cfg:6: 'use_backend': no backend named 'missing'"
            ),
            (
                "listen l\n    bind :80\n    option httpchk GET \"/$HOME\"\n",
                "'$HOME': HAProxy expands environment variables"
            ),
        ]
    )
    func errors(text: String, expected: String) {
        let issues = Self.issues(text)
        #expect(issues.contains { $0.contains(expected) }, "\(issues)")
    }

    @Test("every problem is reported at once, in line order, with the warnings after them")
    func allAtOnce() {
        let text = """
            global
                daemon
            listen l
                bind :80
                balance random
                server s1 nowhere:80 check inter never
                retries many

            """
        do {
            _ = try ProxyConfigParser.parse(text, file: "proxy.cfg")
            Issue.record("accepted")
        } catch {
            #expect(error.issues.map(\.line) == [5, 6, 6, 7])
            #expect(error.warnings.map(\.keyword).contains("daemon"))
            #expect(error.description.contains("warning: proxy.cfg:2: 'daemon'"))
        }
    }
}

@Suite("Proxy config: inputs found by fuzzing")
struct ProxyConfigFuzzRegressionTests {
    /// `scripts/fuzz.sh proxyconfig` found a trap: a digit of another script in an IPv4 address.
    @Test("a server address with a non-ASCII digit is an error, not a crash")
    func nonASCIIDigit() {
        #expect(throws: ProxyConfigError.self) {
            try ProxyConfigParser.parse("backend b\n    server c 7.0.4\u{664}.1:80\n", file: "f.cfg")
        }
    }
}
