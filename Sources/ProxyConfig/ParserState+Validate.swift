extension ParserState {
    /// Builds the configuration from the sections read and checks what spans sections: names, references,
    /// modes, addresses used twice.
    mutating func validate() -> ProxyConfiguration? {
        var frontends: [Frontend] = []
        var backends: [Backend] = []
        var seenFrontends: Set<String> = []
        var seenBackends: Set<String> = []
        for section in sections {
            let settings = section.settings
            var stats: StatsSettings?
            if section.statsEnabled {
                stats = StatsSettings(uri: section.statsURI ?? "/haproxy?stats", refresh: section.statsRefresh)
            }
            if section.kind != .backend {
                if !seenFrontends.insert(section.name).inserted {
                    error(section.line, section.kind.rawValue, "a frontend named '\(section.name)' already exists")
                }
                if section.binds.isEmpty {
                    error(
                        section.line,
                        section.kind.rawValue,
                        "'\(section.name)' has no bind line: add 'bind ADDR:PORT'"
                    )
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
                    for condition in rule.conditions where !section.acls.contains(where: { $0.name == condition.acl }) {
                        error(rule.line, "use_backend", "ACL '\(condition.acl)' is not defined in '\(section.name)'")
                    }
                }
                frontends.append(
                    Frontend(
                        name: section.name,
                        line: section.line,
                        binds: section.binds.map(\.0),
                        mode: settings.mode,
                        defaultBackend: section.kind == .listen ? section.name : section.defaultBackend?.0,
                        rules: section.rules,
                        acls: section.acls,
                        timeouts: settings.timeouts,
                        maxConnections: settings.maxConnections,
                        forwardFor: settings.forwardFor,
                        stats: stats
                    )
                )
            }
            if section.kind != .frontend {
                if !seenBackends.insert(section.name).inserted {
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
                if let status = settings.expectStatus {
                    if check == nil {
                        error(
                            section.line,
                            "http-check",
                            "'http-check expect' needs 'option httpchk' in '\(section.name)'"
                        )
                    }
                    check?.expectStatus = status
                }
                backends.append(
                    Backend(
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
                        cookie: section.cookie?.0,
                        stats: section.kind == .backend ? stats : nil
                    )
                )
            }
        }
        checkReferences(frontends, backends)
        checkBinds()
        return ProxyConfiguration(
            maxConnections: globalMaxConnections,
            threads: globalThreads,
            frontends: frontends,
            backends: backends,
            warnings: warnings
        )
    }

    private mutating func checkReferences(_ frontends: [Frontend], _ backends: [Backend]) {
        let byName = Dictionary(backends.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        for section in sections where section.kind == .frontend {
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
            if section.defaultBackend == nil && section.rules.isEmpty && frontend.stats == nil {
                warn(
                    section.line,
                    "frontend",
                    "'\(section.name)' has no default_backend or use_backend: every request fails"
                )
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
