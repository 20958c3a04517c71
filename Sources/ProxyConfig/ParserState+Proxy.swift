extension ParserState {
    /// Keywords valid in defaults and proxies. Returns false when `words` is none of them.
    mutating func commonKeyword(_ words: [String], _ number: Int, _ settings: inout DefaultSettings) -> Bool {
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
            httpCheck(words, number, &settings)
        default:
            return false
        }
        return true
    }

    mutating func proxyKeyword(_ words: [String], _ number: Int) {
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
            bind(words, number, &section)
        case "default_backend" where isFrontend:
            guard words.count == 2 else {
                error(number, "default_backend", "needs one backend name")
                return
            }
            section.defaultBackend = (words[1], number)
        case "use_backend" where isFrontend:
            rule(words, number, &section)
        case "acl" where isFrontend:
            if let acl = ACLParser.parse(words, number, &self) { section.acls.append(acl) }
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
        case "bind", "default_backend", "use_backend", "acl":
            error(number, keyword, "only allowed in a frontend or listen section")
        case "server", "cookie":
            error(number, keyword, "only allowed in a backend or listen section")
        default:
            notImplemented(keyword, .proxy, number, where: "'\(section.kind.rawValue)'")
        }
    }

    private mutating func bind(_ words: [String], _ number: Int, _ section: inout ProxySection) {
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
        var index = 2
        while index < words.count {
            let option = words[index]
            guard case .noEffect = KeywordTable.entry(option, in: .bind)?.support else {
                // The first option that is refused ends the line: its values would only add noise.
                notImplemented(option, .bind, number, where: "a bind line")
                return
            }
            notImplemented(option, .bind, number, where: "a bind line")
            // Every bind option with no effect takes one value (`name NAME`).
            index += 2
        }
    }

    private mutating func rule(_ words: [String], _ number: Int, _ section: inout ProxySection) {
        guard words.count >= 4, words[2] == "if" || words[2] == "unless" else {
            error(
                number,
                "use_backend",
                words.count == 2
                    ? "a rule without a condition is not supported yet; use 'default_backend \(words[1])'"
                    : "needs 'use_backend NAME if ACL [ACL…] [or ACL…]' (or 'unless')"
            )
            return
        }
        var terms: [[BackendRule.Condition]] = [[]]
        for word in words.dropFirst(3) {
            if word.hasPrefix("{") || word.hasPrefix("}") {
                error(
                    number,
                    "use_backend",
                    "anonymous ACLs ('{ … }') are not supported yet; name the ACL with an 'acl' line"
                )
                return
            }
            switch word {
            case "and", "&&":
                continue
            case "or", "||":
                guard !(terms.last ?? []).isEmpty else {
                    error(number, "use_backend", "'\(word)' needs an ACL on each side")
                    return
                }
                terms.append([])
            default:
                let negated = word.hasPrefix("!")
                let name = negated ? String(word.dropFirst()) : word
                guard !name.isEmpty else {
                    error(number, "use_backend", "'!' needs an ACL name right after it, like '!office'")
                    return
                }
                terms[terms.count - 1].append(BackendRule.Condition(acl: name, negated: negated))
            }
        }
        guard terms.allSatisfy({ !$0.isEmpty }) else {
            error(number, "use_backend", "the condition ends without an ACL")
            return
        }
        section.rules.append(BackendRule(backend: words[1], terms: terms, negated: words[2] == "unless", line: number))
    }

    private mutating func stats(_ words: [String], _ number: Int, _ section: inout ProxySection) {
        guard words.count >= 2 else {
            error(
                number,
                "stats",
                "needs enable, uri PATH, refresh TIME, auth USER:PASSWORD, realm, hide-version or scope"
            )
            return
        }
        let phrase = "stats \(words[1])"
        switch words[1] {
        case "enable":
            section.statsEnabled = true
        case "uri":
            guard words.count == 3, words[2].hasPrefix("/") else {
                error(number, phrase, "needs a path starting with '/', like 'stats uri /stats'")
                return
            }
            section.statsEnabled = true
            section.statsURI = words[2]
        case "refresh":
            guard words.count == 3 else {
                error(number, phrase, "needs a time, like 'stats refresh 10s'")
                return
            }
            if let value = time(words[2], number, phrase, example: "10s") {
                section.statsEnabled = true
                section.statsRefresh = value
            }
        case "auth":
            guard words.count == 3, let colon = words[2].firstIndex(of: ":") else {
                error(number, phrase, "needs USER:PASSWORD, like 'stats auth admin:secret'")
                return
            }
            section.statsEnabled = true
            section.statsCredentials.append(
                StatsSettings.Credential(
                    user: String(words[2][..<colon]),
                    password: String(words[2][words[2].index(after: colon)...])
                )
            )
        case "realm":
            guard words.count == 3 else {
                error(number, phrase, "needs one word (escape spaces with '\\ '), like 'stats realm Operations'")
                return
            }
            section.statsEnabled = true
            section.statsRealm = words[2]
        case "hide-version":
            section.statsEnabled = true
            section.statsHideVersion = true
        case "scope":
            guard words.count == 3 else {
                error(number, phrase, "needs one section name (or '.'), like 'stats scope web'")
                return
            }
            section.statsEnabled = true
            section.statsScope.append(words[2])
        default:
            notImplemented(phrase, .proxy, number, where: "'\(section.kind.rawValue)'")
            // HAProxy enables the page with any stats keyword.
            section.statsEnabled = true
        }
    }

    private mutating func option(_ words: [String], _ number: Int, _ settings: inout DefaultSettings) {
        let phrase = "option \(words[1])"
        let arguments = Array(words.dropFirst(2))
        switch words[1] {
        case "httpchk":
            if let check = HealthCheckParser.option(arguments, number, &self) { settings.healthCheck = check }
        case "forwardfor":
            if let forwardFor = forwardFor(arguments, number) { settings.forwardFor = forwardFor }
        case "redispatch", "http-keep-alive", "http-server-close", "httpclose", "clitcpka":
            guard arguments.isEmpty else {
                error(number, phrase, "takes no argument")
                return
            }
            switch words[1] {
            case "redispatch": settings.redispatch = true
            case "http-keep-alive": settings.connectionMode = .keepAlive
            case "http-server-close": settings.connectionMode = .serverClose
            case "httpclose": settings.connectionMode = .close
            default: break  // clitcpka: the engine sets TCP keep-alive on every client connection.
            }
        default:
            notImplemented(phrase, .proxy, number, where: "this section")
        }
    }

    private mutating func forwardFor(_ arguments: [String], _ number: Int) -> ForwardFor? {
        var result = ForwardFor()
        var index = 0
        while index < arguments.count {
            let word = arguments[index]
            switch word {
            case "if-none":
                result.ifNone = true
                index += 1
            case "except", "header":
                guard index + 1 < arguments.count else {
                    error(number, "option forwardfor", "'\(word)' needs a value")
                    return nil
                }
                let value = arguments[index + 1]
                if word == "except" {
                    guard AddressParser.network(value) != nil else {
                        error(number, "option forwardfor", "except '\(value)' is not an address or ADDR/PREFIX")
                        return nil
                    }
                    result.except = value
                } else {
                    guard !value.isEmpty, value.utf8.allSatisfy(HealthCheckParser.isTokenByte) else {
                        error(number, "option forwardfor", "header '\(value)' is not a header name")
                        return nil
                    }
                    result.header = value
                }
                index += 2
            default:
                error(
                    number,
                    "option forwardfor",
                    "unexpected '\(word)' (takes: except NETWORK, header NAME, if-none)"
                )
                return nil
            }
        }
        return result
    }

    private mutating func httpCheck(_ words: [String], _ number: Int, _ settings: inout DefaultSettings) {
        let phrase = words.count > 1 ? "http-check \(words[1])" : "http-check"
        switch words.count > 1 ? words[1] : "" {
        case "expect":
            if let ranges = HealthCheckParser.expect(Array(words.dropFirst(2)), number, &self) {
                settings.expectStatus = (ranges, number)
            }
        case "send":
            if let check = HealthCheckParser.send(Array(words.dropFirst(2)), number, &self) {
                settings.checkSend = (check, number)
            }
        default:
            notImplemented(phrase, .proxy, number, where: "this section")
        }
    }

    private mutating func timeout(_ words: [String], _ number: Int, _ timeouts: inout Timeouts) {
        guard words.count == 3 else {
            error(number, "timeout", "needs a kind and a time, like 'timeout connect 5s'")
            return
        }
        let phrase = "timeout \(words[1])"
        let path: WritableKeyPath<Timeouts, Duration?>
        switch words[1] {
        case "connect": path = \.connect
        case "client": path = \.client
        case "server": path = \.server
        case "check": path = \.check
        case "http-request": path = \.httpRequest
        case "http-keep-alive": path = \.httpKeepAlive
        case "tunnel": path = \.tunnel
        case "queue": path = \.queue
        default:
            notImplemented(phrase, .proxy, number, where: "this section")
            return
        }
        guard let value = time(words[2], number, phrase) else { return }
        // HAProxy reads 0 as "not set".
        timeouts[keyPath: path] = value == .zero ? nil : value
    }
}
