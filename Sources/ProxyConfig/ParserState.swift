/// The parser's state while it reads the file line by line.
struct ParserState {
    let file: String
    var errors: [ProxyConfigIssue] = []
    var warnings: [ProxyConfigIssue] = []
    var sectionKind: SectionKind?
    var defaults = DefaultSettings()
    var current: ProxySection?
    var sections: [ProxySection] = []
    var globalMaxConnections: Int?
    var globalThreads: Int?

    init(file: String) { self.file = file }

    mutating func error(_ line: Int, _ keyword: String, _ message: String) {
        errors.append(ProxyConfigIssue(file: file, line: line, keyword: keyword, message: message))
    }

    mutating func warn(_ line: Int, _ keyword: String, _ message: String) {
        warnings.append(ProxyConfigIssue(file: file, line: line, keyword: keyword, message: message))
    }

    mutating func finishSection() {
        if let current { sections.append(current) }
        current = nil
    }

    mutating func line(_ words: [String], number: Int) {
        let keyword = words[0]
        if let kind = SectionKind(rawValue: keyword) {
            startSection(kind, words, number)
            return
        }
        switch sectionKind {
        case nil:
            error(number, keyword, "outside any section; start one with global, defaults, frontend, backend or listen")
        case .global:
            globalKeyword(words, number)
        case .defaults:
            defaultsKeyword(words, number)
        case .frontend, .backend, .listen:
            proxyKeyword(words, number)
        }
    }

    private mutating func startSection(_ kind: SectionKind, _ words: [String], _ number: Int) {
        finishSection()
        sectionKind = kind
        switch kind {
        case .global:
            if words.count > 1 { error(number, "global", "takes no name") }
        case .defaults:
            defaults = DefaultSettings()
            if words.count > 2 { error(number, "defaults", "takes at most a name") }
        case .frontend, .backend, .listen:
            guard words.count >= 2 else {
                error(number, kind.rawValue, "needs a name, like '\(kind.rawValue) web'")
                sectionKind = nil
                return
            }
            let name = words[1]
            if !name.allSatisfy({ $0.isLetter || $0.isNumber || "-_.:".contains($0) }) {
                error(number, kind.rawValue, "name '\(name)' may use letters, digits, '-', '_', '.' and ':' only")
            }
            var section = ProxySection(kind: kind, name: name, line: number, settings: defaults)
            if kind == .listen, words.count >= 3 {
                for address in words[2].split(separator: ",") {
                    if let bind = AddressParser.bind(String(address)) {
                        section.binds.append((bind, number))
                    } else {
                        error(number, "listen", "'\(address)' is not ADDR:PORT (e.g. 0.0.0.0:80, :80, [::]:80)")
                    }
                }
            } else if words.count > 2 {
                error(number, kind.rawValue, "unexpected '\(words[2])' after the name")
            }
            current = section
        }
    }

    private mutating func globalKeyword(_ words: [String], _ number: Int) {
        let keyword = words[0]
        if keyword == "maxconn" {
            globalMaxConnections = positiveInt(words, number)
        } else if keyword == "nbthread" {
            if let value = positiveInt(words, number) {
                if value > 64 {
                    error(number, "nbthread", "at most 64 threads")
                } else {
                    globalThreads = value
                }
            }
        } else if keyword == "stats", words.count > 1, words[1] == "socket" || words[1] == "timeout" {
            warn(
                number,
                "stats \(words[1])",
                "ignored: the engine has no runtime API; status comes from the stats page"
            )
        } else if ProxyConfigParser.ignoredKeywords.contains(keyword) || keyword.hasPrefix("tune.")
            || keyword.hasPrefix("ssl-")
        {
            warn(number, keyword, "ignored: it only tunes performance, processes or logging")
        } else {
            error(number, keyword, "not supported in 'global' (docs/proxy-config.md lists what is)")
        }
    }

    private mutating func defaultsKeyword(_ words: [String], _ number: Int) {
        var settings = defaults
        if !commonKeyword(words, number, &settings) {
            let keyword = words[0]
            if ProxyConfigParser.ignoredKeywords.contains(keyword) {
                warn(number, keyword, "ignored: it only tunes performance or logging")
            } else {
                error(number, keyword, "not supported in 'defaults' (docs/proxy-config.md lists what is)")
            }
        }
        defaults = settings
    }

    /// Keywords valid in defaults and proxies. Returns false when `words` is none of them.
    private mutating func commonKeyword(_ words: [String], _ number: Int, _ settings: inout DefaultSettings) -> Bool {
        let keyword = words[0]
        switch keyword {
        case "mode":
            guard words.count == 2, let mode = ProxyMode(rawValue: words[1]) else {
                error(number, "mode", "must be 'mode tcp' or 'mode http'")
                return true
            }
            settings.mode = mode
        case "timeout":
            timeout(words, number, &settings.timeouts)
        case "balance":
            guard words.count == 2, let algorithm = BalanceAlgorithm(rawValue: words[1]) else {
                let names = BalanceAlgorithm.allCases.map(\.rawValue).joined(separator: ", ")
                error(
                    number,
                    "balance",
                    "'\(words.dropFirst().joined(separator: " "))' is not supported; use one of: \(names)"
                )
                return true
            }
            settings.balance = algorithm
        case "retries":
            if let value = nonNegativeInt(words, number) { settings.retries = value }
        case "maxconn":
            if let value = positiveInt(words, number) { settings.maxConnections = value }
        case "option":
            guard words.count >= 2 else {
                error(number, "option", "needs a name, like 'option httpchk GET /health'")
                return true
            }
            option(words, number, &settings)
        case "http-check":
            guard words.count == 4, words[1] == "expect", words[2] == "status", let code = Int(words[3]),
                (100...599).contains(code)
            else {
                error(number, "http-check", "only 'http-check expect status CODE' is supported (CODE 100-599)")
                return true
            }
            settings.expectStatus = code
        default:
            return false
        }
        return true
    }

    private mutating func option(_ words: [String], _ number: Int, _ settings: inout DefaultSettings) {
        switch words[1] {
        case "httpchk":
            let rest = Array(words.dropFirst(2))
            switch rest.count {
            case 0: settings.healthCheck = HealthCheck(method: "OPTIONS", uri: "/", expectStatus: nil)
            case 1: settings.healthCheck = HealthCheck(method: "OPTIONS", uri: rest[0], expectStatus: nil)
            case 2, 3: settings.healthCheck = HealthCheck(method: rest[0], uri: rest[1], expectStatus: nil)
            default: error(number, "option httpchk", "takes [METHOD] URI, like 'option httpchk GET /health'")
            }
            if let uri = settings.healthCheck?.uri, !uri.hasPrefix("/") {
                error(number, "option httpchk", "the URI must start with '/', like 'option httpchk GET /health'")
            }
        case "forwardfor":
            settings.forwardFor = true
        case "redispatch":
            settings.redispatch = true
        default:
            if ProxyConfigParser.ignoredOptions.contains(words[1]) {
                warn(number, "option \(words[1])", "ignored: the engine decides this itself")
            } else {
                error(number, "option \(words[1])", "not supported (supported: httpchk, forwardfor, redispatch)")
            }
        }
    }

    private mutating func timeout(_ words: [String], _ number: Int, _ timeouts: inout Timeouts) {
        guard words.count == 3 else {
            error(number, "timeout", "needs a kind and a time, like 'timeout connect 5s'")
            return
        }
        guard let value = TimeParser.parse(words[2]) else {
            error(number, "timeout \(words[1])", "'\(words[2])' is not a time (e.g. 5000, 5s, 100ms)")
            return
        }
        switch words[1] {
        case "connect": timeouts.connect = value
        case "client": timeouts.client = value
        case "server": timeouts.server = value
        case "check": timeouts.check = value
        case "http-request": timeouts.httpRequest = value
        case "http-keep-alive": timeouts.httpKeepAlive = value
        case "queue", "tunnel", "client-fin", "server-fin", "tarpit":
            warn(number, "timeout \(words[1])", "ignored: not used by the engine")
        default:
            error(
                number,
                "timeout \(words[1])",
                "not supported (supported: connect, client, server, check, http-request, http-keep-alive)"
            )
        }
    }

    private mutating func proxyKeyword(_ words: [String], _ number: Int) {
        guard var section = current else { return }
        let keyword = words[0]
        let isFrontend = section.kind != .backend
        let isBackend = section.kind != .frontend
        var settings = section.settings
        current = nil
        defer { current = section }
        if commonKeyword(words, number, &settings) {
            section.settings = settings
            return
        }
        switch keyword {
        case "bind" where isFrontend:
            guard words.count >= 2 else {
                error(number, "bind", "needs ADDR:PORT, like 'bind :80' or 'bind 192.0.2.100:443'")
                return
            }
            for address in words[1].split(separator: ",") {
                if let bind = AddressParser.bind(String(address)) {
                    section.binds.append((bind, number))
                } else {
                    error(number, "bind", "'\(address)' is not ADDR:PORT (e.g. 0.0.0.0:80, :80, [::]:80)")
                }
            }
            for option in words.dropFirst(2) {
                error(
                    number,
                    "bind",
                    "option '\(option)' is not supported (TLS and bind options are not in the subset)"
                )
            }
        case "default_backend" where isFrontend:
            guard words.count == 2 else {
                error(number, "default_backend", "needs one backend name")
                return
            }
            section.defaultBackend = (words[1], number)
        case "use_backend" where isFrontend:
            rule(words, number, &section)
        case "acl" where isFrontend:
            acl(words, number, &section)
        case "server" where isBackend:
            if let server = ServerParser.parse(words, number, &self) { section.servers.append(server) }
        case "cookie" where isBackend:
            let flags = Set(words.dropFirst(2))
            guard words.count >= 2, flags.isSubset(of: ["insert", "indirect", "nocache"]) else {
                error(number, "cookie", "only 'cookie NAME [insert] [indirect] [nocache]' is supported")
                return
            }
            let cookie = StickyCookie(
                name: words[1],
                insert: flags.contains("insert"),
                indirect: flags.contains("indirect"),
                nocache: flags.contains("nocache")
            )
            section.cookie = (cookie, number)
        case "stats":
            stats(words, number, &section)
        default:
            if ProxyConfigParser.ignoredKeywords.contains(keyword) {
                warn(number, keyword, "ignored: it only tunes performance or logging")
            } else if ["bind", "default_backend", "use_backend", "acl"].contains(keyword) {
                error(number, keyword, "only allowed in a frontend or listen section")
            } else if ["server", "cookie"].contains(keyword) {
                error(number, keyword, "only allowed in a backend or listen section")
            } else {
                error(number, keyword, "not supported (docs/proxy-config.md lists the supported keywords)")
            }
        }
    }

    private mutating func rule(_ words: [String], _ number: Int, _ section: inout ProxySection) {
        guard words.count >= 4, words[2] == "if" || words[2] == "unless" else {
            error(number, "use_backend", "needs 'use_backend NAME if ACL [ACL…]' (or 'unless')")
            return
        }
        let negateAll = words[2] == "unless"
        var conditions: [BackendRule.Condition] = []
        for word in words.dropFirst(3) {
            if word == "or" || word == "||" || word.hasPrefix("{") {
                error(
                    number,
                    "use_backend",
                    "only named ACLs joined by 'and' are supported (no 'or', no anonymous ACLs)"
                )
                return
            }
            if word == "and" || word == "&&" { continue }
            let negated = word.hasPrefix("!")
            conditions.append(
                BackendRule.Condition(acl: negated ? String(word.dropFirst()) : word, negated: negated != negateAll)
            )
        }
        section.rules.append(BackendRule(backend: words[1], conditions: conditions, line: number))
    }

    private mutating func acl(_ words: [String], _ number: Int, _ section: inout ProxySection) {
        guard words.count >= 4, let criterion = ACL.Criterion(rawValue: words[2]) else {
            error(
                number,
                "acl",
                "needs 'acl NAME CRITERION VALUE…' with CRITERION path_beg, path, hdr(host) or src"
            )
            return
        }
        var values = Array(words.dropFirst(3))
        let ignoreCase = values.first == "-i"
        if ignoreCase { values.removeFirst() }
        guard !values.isEmpty else {
            error(number, "acl", "needs at least one value")
            return
        }
        if criterion == .source {
            for value in values where AddressParser.network(value) == nil {
                error(number, "acl", "'\(value)' is not an address or ADDR/PREFIX")
            }
        }
        section.acls.append(ACL(name: words[1], criterion: criterion, values: values, ignoreCase: ignoreCase))
    }

    private mutating func stats(_ words: [String], _ number: Int, _ section: inout ProxySection) {
        guard words.count >= 2 else {
            error(number, "stats", "needs enable, uri PATH or refresh TIME")
            return
        }
        switch words[1] {
        case "enable":
            section.statsEnabled = true
        case "uri":
            guard words.count == 3, words[2].hasPrefix("/") else {
                error(number, "stats uri", "needs a path starting with '/', like 'stats uri /stats'")
                return
            }
            section.statsEnabled = true
            section.statsURI = words[2]
        case "refresh":
            guard words.count == 3, let value = TimeParser.parse(words[2]) else {
                error(number, "stats refresh", "needs a time, like 'stats refresh 10s'")
                return
            }
            section.statsRefresh = value
        case "auth", "realm", "hide-version", "show-legends", "show-node", "admin", "scope":
            warn(number, "stats \(words[1])", "ignored: not supported by the engine's stats page")
        default:
            error(number, "stats \(words[1])", "not supported (supported: enable, uri, refresh)")
        }
    }

    mutating func positiveInt(_ words: [String], _ number: Int) -> Int? {
        guard words.count == 2, let value = Int(words[1]), value > 0 else {
            error(number, words[0], "needs one positive number")
            return nil
        }
        return value
    }

    mutating func nonNegativeInt(_ words: [String], _ number: Int) -> Int? {
        guard words.count == 2, let value = Int(words[1]), value >= 0 else {
            error(number, words[0], "needs one number (0 or more)")
            return nil
        }
        return value
    }
}
