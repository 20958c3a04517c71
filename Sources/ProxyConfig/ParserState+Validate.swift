extension ParserState {
    /// Builds the configuration from the sections read and checks what spans sections: names, references,
    /// modes, addresses used twice, a configuration with nothing to listen on.
    mutating func validate() -> ProxyConfiguration? {
        var frontends: [Frontend] = []
        var backends: [Backend] = []
        var seenFrontends: Set<String> = []
        var seenBackends: Set<String> = []
        for section in sections {
            let settings = section.settings
            var stats: StatsSettings?
            if section.statsEnabled {
                stats = StatsSettings(
                    uri: section.statsURI ?? "/haproxy?stats",
                    refresh: section.statsRefresh,
                    credentials: section.statsCredentials,
                    realm: section.statsRealm ?? "HAProxy Statistics",
                    hideVersion: section.statsHideVersion,
                    scope: section.statsScope
                )
            }
            if section.kind != .backend {
                frontends.append(frontend(section, settings, stats, &seenFrontends))
            }
            if section.kind != .frontend {
                backends.append(backend(section, settings, stats, &seenBackends))
            }
            missingTimeouts(section, settings)
        }
        checkReferences(frontends, backends)
        checkBinds()
        checkStatsScopes(frontends, backends)
        if frontends.isEmpty {
            error(
                max(1, sections.last?.line ?? 1),
                "frontend",
                "nothing to listen on: add a 'frontend' or 'listen' section with a 'bind' line (HAProxy will not start without a listener either)"
            )
        }
        return ProxyConfiguration(
            maxConnections: globalMaxConnections,
            maxConnectionsLine: globalMaxConnectionsLine,
            threads: globalThreads,
            frontends: frontends,
            backends: backends,
            warnings: warnings
        )
    }

    private mutating func frontend(
        _ section: ProxySection,
        _ settings: DefaultSettings,
        _ stats: StatsSettings?,
        _ seen: inout Set<String>
    ) -> Frontend {
        if !seen.insert(section.name).inserted {
            error(section.line, section.kind.rawValue, "a frontend named '\(section.name)' already exists")
        }
        if section.binds.isEmpty {
            error(section.line, section.kind.rawValue, "'\(section.name)' has no bind line: add 'bind ADDR:PORT'")
        }
        if settings.mode == .tcp {
            for acl in section.acls where acl.criterion != .source {
                error(
                    section.line,
                    "acl \(acl.name)",
                    "\(acl.criterion.rawValue) needs 'mode http' in '\(section.name)'"
                )
            }
        }
        for rule in section.rules {
            for name in rule.aclNames where !section.acls.contains(where: { $0.name == name }) {
                error(rule.line, "use_backend", "ACL '\(name)' is not defined in '\(section.name)'")
            }
        }
        return Frontend(
            name: section.name,
            line: section.line,
            binds: section.binds.map(\.0),
            mode: settings.mode,
            defaultBackend: section.defaultBackend?.0 ?? (section.kind == .listen ? section.name : nil),
            rules: section.rules,
            acls: section.acls,
            timeouts: settings.timeouts,
            maxConnections: settings.maxConnections,
            forwardFor: settings.forwardFor,
            connectionMode: settings.connectionMode,
            stats: stats
        )
    }

    private mutating func backend(
        _ section: ProxySection,
        _ settings: DefaultSettings,
        _ stats: StatsSettings?,
        _ seen: inout Set<String>
    ) -> Backend {
        if !seen.insert(section.name).inserted {
            error(section.line, section.kind.rawValue, "a backend named '\(section.name)' already exists")
        }
        var seenServers: Set<String> = []
        for server in section.servers where !seenServers.insert(server.name).inserted {
            error(server.line, "server", "a server named '\(server.name)' already exists in '\(section.name)'")
        }
        if let (_, line) = section.cookie, settings.mode != .http {
            error(line, "cookie", "sticky cookies need 'mode http' in '\(section.name)'")
        }
        var check = settings.healthCheck
        if let (send, line) = settings.checkSend {
            if let base = check {
                check = HealthCheckParser.merged(base, send)
            } else {
                error(line, "http-check send", "needs 'option httpchk' in '\(section.name)'")
            }
        }
        if let (ranges, line) = settings.expectStatus {
            if check == nil {
                error(line, "http-check expect", "needs 'option httpchk' in '\(section.name)'")
            }
            check?.expectStatus = ranges
        }
        return Backend(
            name: section.name,
            line: section.line,
            mode: settings.mode,
            balance: settings.balance,
            servers: section.servers,
            healthCheck: check,
            timeouts: settings.timeouts,
            retries: settings.retries,
            redispatch: settings.redispatch,
            forwardFor: settings.forwardFor,
            connectionMode: settings.connectionMode,
            cookie: section.cookie?.0,
            stats: section.kind == .backend ? stats : nil
        )
    }

    /// HAProxy warns when a proxy lacks `timeout client` (frontends) or `connect`/`server` (backends), and
    /// then waits forever; the engine uses 5 s to connect, and in HTTP mode 30 s for a request head and
    /// 60 s for a server's answer. The warning says so.
    private mutating func missingTimeouts(_ section: ProxySection, _ settings: DefaultSettings) {
        var missing: [String] = []
        if section.kind != .backend && settings.timeouts.client == nil { missing.append("client") }
        if section.kind != .frontend {
            if settings.timeouts.connect == nil { missing.append("connect") }
            if settings.timeouts.server == nil { missing.append("server") }
        }
        guard !missing.isEmpty else { return }
        warn(
            section.line,
            section.kind.rawValue,
            "'\(section.name)' has no timeout \(missing.joined(separator: ", ")): HAProxy warns too and then waits forever; the engine uses 5 s to connect, and in HTTP mode 30 s for a request head and 60 s for a server's answer; set them"
        )
    }

    private mutating func checkReferences(_ frontends: [Frontend], _ backends: [Backend]) {
        let byName = Dictionary(backends.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        for section in sections where section.kind != .backend {
            guard let frontend = frontends.first(where: { $0.name == section.name }) else { continue }
            var references: [(String, Int, String)] = section.rules.map { ($0.backend, $0.line, "use_backend") }
            if let (name, line) = section.defaultBackend { references.append((name, line, "default_backend")) }
            for (name, line, keyword) in references {
                guard let backend = byName[name] else {
                    error(
                        line,
                        keyword,
                        "no backend named '\(name)' (backends: \(backends.map(\.name).joined(separator: ", ")))"
                    )
                    continue
                }
                if backend.mode != frontend.mode {
                    error(
                        line,
                        keyword,
                        "frontend '\(frontend.name)' is mode \(frontend.mode) but backend '\(name)' is mode \(backend.mode)"
                    )
                }
            }
            if frontend.defaultBackend == nil && section.rules.isEmpty && frontend.stats == nil {
                warn(
                    section.line,
                    "frontend",
                    "'\(section.name)' has no default_backend or use_backend: every request fails"
                )
            }
        }
    }

    private mutating func checkStatsScopes(_ frontends: [Frontend], _ backends: [Backend]) {
        let names = Set(frontends.map(\.name) + backends.map(\.name) + ["."])
        for section in sections {
            for scope in section.statsScope where !names.contains(scope) {
                error(section.line, "stats scope", "no frontend or backend named '\(scope)' in '\(section.name)'")
            }
        }
    }

    private mutating func checkBinds() {
        var owners: [BindAddress: String] = [:]
        for section in sections where section.kind != .backend {
            for (bind, line) in section.binds {
                if let owner = owners[bind], owner != section.name {
                    error(line, "bind", "\(bind) is already bound by '\(owner)'")
                } else {
                    owners[bind] = section.name
                }
            }
        }
    }
}
