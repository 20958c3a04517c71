import FailoverCore
import FailoverWire
import TOMLKit

extension AgentConfiguration {
    /// Parses and validates a configuration. Every problem found is reported at once, each naming the file,
    /// the line, the key and the fix.
    ///
    /// - Parameters:
    ///   - text: the TOML text.
    ///   - file: the file name to put in messages.
    public static func parse(_ text: String, file: String) throws(ConfigurationError) -> AgentConfiguration {
        if let found = TOMLPrecheck.firstNonASCII(in: text) {
            let shown = found.character == "\u{FFFD}" ? "a byte that is not UTF-8" : "'\(found.character)'"
            let issue = ConfigurationIssue(
                file: file,
                line: found.line,
                key: "",
                message: "not valid TOML: \(shown) at column \(found.column) is outside a string or comment; "
                    + "keys and table names are ASCII (quote the text, or save the file as UTF-8)"
            )
            throw ConfigurationError(issues: [issue])
        }
        if let found = TOMLPrecheck.firstBadTableHeader(in: text) {
            let issue = ConfigurationIssue(
                file: file,
                line: found.line,
                key: "",
                message:
                    "not valid TOML: a table name cannot start with '\(found.character)' (column \(found.column)); "
                    + "use letters, digits, '_' or '-', like [node]"
            )
            throw ConfigurationError(issues: [issue])
        }
        let root: TOMLTable
        do {
            root = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            let line = error.source.begin.line
            let issue = ConfigurationIssue(
                file: file,
                line: line,
                key: "",
                message: "not valid TOML: \(error.description) (column \(error.source.begin.column))"
            )
            throw ConfigurationError(issues: [issue])
        } catch {
            throw ConfigurationError(issues: [ConfigurationIssue(file: file, line: nil, key: "", message: "\(error)")])
        }
        var reader = TOMLReader(file: file, text: text)
        let result = parse(root, reader: &reader)
        guard reader.issues.isEmpty, let configuration = result else {
            let sorted = reader.issues.sorted { ($0.line ?? .max) < ($1.line ?? .max) }
            throw ConfigurationError(issues: sorted)
        }
        return configuration
    }

    private static func parse(_ root: TOMLTable, reader: inout TOMLReader) -> AgentConfiguration? {
        let node = parseNode(root, &reader)
        let cluster = parseCluster(root, &reader)
        let vips = parseVIPs(root, &reader)
        checkVIPsAgainstLinks(vips, cluster?.links ?? [], &reader)
        let witness = parseWitness(root, &reader)
        let engine = parseEngine(root, &reader)
        let hooks = parseHooks(root, &reader)
        let control = reader.table(root, "control", key: "control")
        var controlSocket = Defaults.controlSocket
        if let path = reader.string(control, "socket", key: "control.socket") {
            if path.hasPrefix("/") {
                controlSocket = path
            } else {
                reader.issue("control.socket", "must be an absolute path, like \"\(Defaults.controlSocket)\"")
            }
        }
        if let control { reader.reportUnknownKeys(control, prefix: "control", known: ["socket"]) }
        let metrics = reader.table(root, "metrics", key: "metrics")
        var metricsListen = Endpoint(Defaults.metricsListen)
        if let listen = reader.string(metrics, "listen", key: "metrics.listen") {
            if listen == "off" || listen.isEmpty {
                metricsListen = nil
            } else if let endpoint = Endpoint(listen), endpoint.port != nil {
                metricsListen = endpoint
            } else {
                reader.issue("metrics.listen", "must be ADDR:PORT like \"\(Defaults.metricsListen)\", or \"off\"")
            }
        }
        if let metrics { reader.reportUnknownKeys(metrics, prefix: "metrics", known: ["listen"]) }
        reader.reportUnknownKeys(
            root,
            prefix: "",
            known: ["node", "cluster", "vip", "witness", "engine", "hooks", "control", "metrics"]
        )
        if let engine, let cluster {
            // Synced side files are written on the backup from the primary's bytes: the agent's own files would
            // be replaced by the peer's (and a key or a hook is not the engine's to carry).
            let own =
                [reader.file, cluster.keyFile]
                + [hooks.onPrimary, hooks.onBackup, hooks.onFault, hooks.onStop]
                .compactMap { $0 }
            for path in engine.syncFiles where own.contains(path) {
                reader.issue(
                    "engine.sync_files",
                    "\"\(path)\" is one of the agent's own files (its configuration, key or hooks): sync only the engine's files"
                )
            }
        }
        guard let node, let cluster, let engine else { return nil }
        return AgentConfiguration(
            node: node,
            cluster: cluster,
            vips: vips,
            witness: witness,
            engine: engine,
            hooks: hooks,
            controlSocket: controlSocket,
            metricsListen: metricsListen
        )
    }

    private static func parseNode(_ root: TOMLTable, _ reader: inout TOMLReader) -> Node? {
        guard let table = reader.table(root, "node", key: "node") else {
            reader.fileIssue(line: nil, "missing [node] section; add one with at least: name = \"lb1\"")
            return nil
        }
        defer {
            reader.reportUnknownKeys(table, prefix: "node", known: ["name", "priority", "preempt", "preempt_delay"])
        }
        var name: NodeName?
        if let text = reader.string(table, "name", key: "node.name") {
            name = NodeName(text)
            if name == nil {
                reader.issue("node.name", "\"\(text)\" is not a valid name: use 1-64 letters, digits, '.', '_' or '-'")
            }
        } else {
            reader.issue("node", "missing name; add name = \"lb1\" (unique per node)")
        }
        var priority = UInt8(Defaults.priority)
        if let value = reader.int(table, "priority", key: "node.priority") {
            if (1...255).contains(value) {
                priority = UInt8(value)
            } else {
                reader.issue("node.priority", "\(value) is out of range; use 1-255 (higher wins an election)")
            }
        }
        let preempt = reader.bool(table, "preempt", key: "node.preempt") ?? false
        let delay = reader.duration(table, "preempt_delay", key: "node.preempt_delay") ?? Defaults.preemptDelay
        guard let name else { return nil }
        return Node(name: name, priority: priority, preempt: preempt, preemptDelay: delay)
    }

    private static func parseCluster(_ root: TOMLTable, _ reader: inout TOMLReader) -> Cluster? {
        guard let table = reader.table(root, "cluster", key: "cluster") else {
            reader.fileIssue(
                line: nil,
                "missing [cluster] section; add key_file = \"/etc/failover-agent/cluster.key\" and a [[cluster.link]]"
            )
            return nil
        }
        defer {
            reader.reportUnknownKeys(
                table,
                prefix: "cluster",
                known: ["key_file", "port", "heartbeat_interval", "dead_interval", "handoff_timeout", "link"]
            )
        }
        let keyFile = reader.string(table, "key_file", key: "cluster.key_file")
        if keyFile == nil {
            reader.issue("cluster", "missing key_file; create a key with `failoverctl keygen` and point key_file at it")
        } else if keyFile?.hasPrefix("/") == false {
            reader.issue("cluster.key_file", "must be an absolute path")
        }
        var port = Defaults.port
        if let value = reader.int(table, "port", key: "cluster.port") {
            if (1...65_535).contains(value) {
                port = UInt16(value)
            } else {
                reader.issue("cluster.port", "\(value) is not a UDP port; use 1-65535 (default \(Defaults.port))")
            }
        }
        let heartbeat =
            reader.duration(table, "heartbeat_interval", key: "cluster.heartbeat_interval")
            ?? Defaults.heartbeatInterval
        let dead = reader.duration(table, "dead_interval", key: "cluster.dead_interval") ?? Defaults.deadInterval
        let handoff =
            reader.duration(table, "handoff_timeout", key: "cluster.handoff_timeout") ?? Defaults.handoffTimeout
        if heartbeat < .milliseconds(10) || heartbeat > .seconds(10) {
            reader.issue(
                "cluster.heartbeat_interval",
                "(\(heartbeat.compactDescription)) must be between 10ms and 10s"
            )
        } else if dead < heartbeat * 3 {
            reader.issue(
                "cluster.dead_interval",
                "(\(dead.compactDescription)) must be at least 3 × heartbeat_interval "
                    + "(\(heartbeat.compactDescription)); set it to \((heartbeat * 5).compactDescription) or more"
            )
        }
        if handoff < heartbeat * 4 {
            reader.issue(
                "cluster.handoff_timeout",
                "(\(handoff.compactDescription)) must be at least 4 × heartbeat_interval so a lost datagram is retried"
            )
        }
        var links: [Link] = []
        let linkTables = reader.tables(table, "link", key: "cluster.link")
        if linkTables.isEmpty {
            reader.issue(
                "cluster",
                "no [[cluster.link]]; add one per network path: local = \"ADDR\", peer = \"ADDR\" (two are better)"
            )
        }
        for (index, link) in linkTables.enumerated() {
            let prefix = "cluster.link.\(index)"
            let local = address(link, "local", key: "\(prefix).local", &reader)
            let peer = address(link, "peer", key: "\(prefix).peer", &reader)
            reader.reportUnknownKeys(link, prefix: prefix, known: ["local", "peer"])
            guard let local, let peer else { continue }
            if local.isIPv6 != peer.isIPv6 {
                reader.issue("\(prefix).peer", "\(peer) and local \(local) must be of the same family (IPv4 or IPv6)")
            } else if local == peer {
                reader.issue("\(prefix).peer", "is the same address as local; use the other node's address")
            } else if links.contains(where: { $0.local == local && $0.peer == peer }) {
                reader.issue(prefix, "duplicates an earlier link; each link must be a different path")
            } else {
                links.append(Link(local: local, peer: peer))
            }
        }
        guard let keyFile, !links.isEmpty else { return nil }
        return Cluster(
            keyFile: keyFile,
            port: port,
            heartbeatInterval: heartbeat,
            deadInterval: dead,
            handoffTimeout: handoff,
            links: links
        )
    }

    private static func address(
        _ table: TOMLTable,
        _ name: String,
        key: String,
        _ reader: inout TOMLReader
    ) -> IPAddress? {
        guard let text = reader.string(table, name, key: key) else {
            reader.issue(key, "missing; write the address, like \(name) = \"192.0.2.11\"")
            return nil
        }
        guard let address = IPAddress(text) else {
            reader.issue(key, "\"\(text)\" is not an IPv4 or IPv6 address")
            return nil
        }
        return address
    }

    private static func parseVIPs(_ root: TOMLTable, _ reader: inout TOMLReader) -> [VIP] {
        let tables = reader.tables(root, "vip", key: "vip")
        if tables.isEmpty {
            reader.fileIssue(
                line: nil,
                "no [[vip]]; add the shared address: [[vip]] address = \"192.0.2.100/24\" interface = \"eth0\""
            )
        }
        var vips: [VIP] = []
        for (index, table) in tables.enumerated() {
            let prefix = "vip.\(index)"
            let text = reader.string(table, "address", key: "\(prefix).address")
            let interface = reader.string(table, "interface", key: "\(prefix).interface")
            reader.reportUnknownKeys(table, prefix: prefix, known: ["address", "interface"])
            if text == nil {
                reader.issue(prefix, "missing address; write it with its prefix, like \"192.0.2.100/24\"")
            }
            if interface == nil { reader.issue(prefix, "missing interface; name the interface, like \"eth0\"") }
            guard let text, let interface else { continue }
            let parts = text.split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count == 2, let address = IPAddress(String(parts[0])), let length = Int(parts[1]),
                (0...address.maximumPrefixLength).contains(length)
            else {
                reader.issue(
                    "\(prefix).address",
                    "\"\(text)\" must be ADDR/PREFIX, like \"192.0.2.100/24\" or \"2001:db8::100/64\""
                )
                continue
            }
            let validInterface =
                !interface.isEmpty && interface.utf8.count <= 15
                && interface.allSatisfy { !$0.isWhitespace && $0 != "/" && $0 != ":" }
            guard validInterface else {
                reader.issue(
                    "\(prefix).interface",
                    "\"\(interface)\" is not an interface name (1-15 characters, no '/' or ':')"
                )
                continue
            }
            if vips.contains(where: { $0.address == address }) {
                reader.issue("\(prefix).address", "\(address) is listed twice")
                continue
            }
            vips.append(VIP(address: address, prefixLength: length, interface: interface))
        }
        return vips
    }

    /// A VIP is moved between the nodes: the agent adds it and, at start, removes it where it finds it. Equal
    /// to a link's address it would take the node's own address (and its heartbeats, and SSH) away.
    private static func checkVIPsAgainstLinks(_ vips: [VIP], _ links: [Link], _ reader: inout TOMLReader) {
        for (index, vip) in vips.enumerated() {
            for (number, link) in links.enumerated() {
                let side = vip.address == link.local ? "local" : vip.address == link.peer ? "peer" : nil
                guard let side else { continue }
                reader.issue(
                    "vip.\(index).address",
                    "\(vip.address) is cluster.link.\(number).\(side), a node's own address; the agent moves and removes "
                        + "VIPs, so it would take that address away: use an address no node has"
                )
            }
        }
    }

    private static func parseWitness(_ root: TOMLTable, _ reader: inout TOMLReader) -> Witness? {
        guard let table = reader.table(root, "witness", key: "witness") else { return nil }
        defer { reader.reportUnknownKeys(table, prefix: "witness", known: ["targets", "interval", "timeout"]) }
        let interval = reader.duration(table, "interval", key: "witness.interval") ?? Defaults.witnessInterval
        let timeout = reader.duration(table, "timeout", key: "witness.timeout") ?? Defaults.witnessTimeout
        if timeout > interval {
            reader.issue(
                "witness.timeout",
                "(\(timeout.compactDescription)) must not exceed witness.interval (\(interval.compactDescription))"
            )
        }
        guard let texts = reader.strings(table, "targets", key: "witness.targets"), !texts.isEmpty else {
            reader.issue(
                "witness",
                "missing targets; list what an isolated node cannot reach, like targets = [\"192.0.2.1\"]"
            )
            return nil
        }
        var targets: [Endpoint] = []
        for text in texts {
            guard let endpoint = Endpoint(text) else {
                reader.issue("witness.targets", "\"\(text)\" must be ADDR (ICMP echo) or ADDR:PORT (TCP connect)")
                continue
            }
            if endpoint.address.isIPv6 && endpoint.port == nil {
                reader.issue(
                    "witness.targets",
                    "\"\(text)\": IPv6 witnesses are probed by TCP connect; add a port, like \"[\(endpoint.address)]:443\""
                )
                continue
            }
            targets.append(endpoint)
        }
        return Witness(targets: targets, interval: interval, timeout: timeout)
    }

    private static func parseEngine(_ root: TOMLTable, _ reader: inout TOMLReader) -> Engine? {
        let table = reader.table(root, "engine", key: "engine")
        defer {
            if let table {
                reader.reportUnknownKeys(
                    table,
                    prefix: "engine",
                    known: [
                        "kind", "config", "sync_files", "sync_limit", "binary", "probe", "ready_timeout", "grace",
                        "user",
                    ]
                )
            }
        }
        var kind = EngineKind.embedded
        if let text = reader.string(table, "kind", key: "engine.kind") {
            if let parsed = EngineKind(rawValue: text) {
                kind = parsed
            } else {
                reader.issue("engine.kind", "\"\(text)\" is not an engine; use \"embedded\" or \"haproxy\"")
            }
        }
        let config = reader.string(table, "config", key: "engine.config")
        if let config, !config.hasPrefix("/") { reader.issue("engine.config", "must be an absolute path") }
        let syncFiles = reader.strings(table, "sync_files", key: "engine.sync_files") ?? []
        for path in syncFiles where !path.hasPrefix("/") {
            reader.issue("engine.sync_files", "\"\(path)\" must be an absolute path")
        }
        if !syncFiles.isEmpty && config == nil {
            reader.issue("engine.sync_files", "needs engine.config: side files are synced with the engine's config")
        }
        let binary = reader.string(table, "binary", key: "engine.binary")
        if let binary, !binary.hasPrefix("/") { reader.issue("engine.binary", "must be an absolute path") }
        var probe: Endpoint?
        if let text = reader.string(table, "probe", key: "engine.probe") {
            probe = Endpoint(text)
            if probe?.port == nil {
                reader.issue("engine.probe", "must be ADDR:PORT of a listener, like \"127.0.0.1:80\"")
                probe = nil
            }
        }
        let readyTimeout =
            reader.duration(table, "ready_timeout", key: "engine.ready_timeout") ?? Defaults.engineReadyTimeout
        if readyTimeout < .milliseconds(100) { reader.issue("engine.ready_timeout", "must be at least 100ms") }
        let grace = reader.duration(table, "grace", key: "engine.grace") ?? Defaults.engineGrace
        if grace < .zero { reader.issue("engine.grace", "must not be negative") }
        var syncLimit = Defaults.syncLimit
        if let text = reader.string(table, "sync_limit", key: "engine.sync_limit") {
            if let bytes = parseSize(text), bytes >= 1_024, bytes <= 1 << 30 {
                syncLimit = bytes
            } else {
                reader.issue("engine.sync_limit", "\"\(text)\" must be a size from 1KiB to 1GiB, like \"16MiB\"")
            }
        }
        let user = reader.string(table, "user", key: "engine.user")
        if let user, !user.isEmpty, !isUserName(user) {
            reader.issue(
                "engine.user",
                "\"\(user)\" is not a user name; name a system user, or \"\" for the agent's own"
            )
        }
        return Engine(
            kind: kind,
            config: config,
            syncFiles: syncFiles,
            binary: binary,
            probe: probe,
            readyTimeout: readyTimeout,
            grace: grace,
            syncLimit: syncLimit,
            user: user
        )
    }

    /// A POSIX-ish user name: letters, digits, `_`, `-`, `.`, not starting with `-`, at most 32 bytes.
    static func isUserName(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard !bytes.isEmpty, bytes.count <= 32, bytes[0] != UInt8(ascii: "-") else { return false }
        return bytes.allSatisfy { byte in
            (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x30 && byte <= 0x39)
                || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".")
        }
    }

    /// `"16MiB"`, `"512KiB"`, `"1GiB"` or a number of bytes; nil when not a size.
    public static func parseSize(_ text: String) -> Int? {
        let units: [(String, Int)] = [("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10), ("B", 1), ("", 1)]
        for (suffix, factor) in units where text.hasSuffix(suffix) {
            let words = text.dropLast(suffix.count).split(separator: " ")
            guard words.count == 1, let number = Int(words[0]), number >= 0 else { continue }
            let (bytes, overflow) = number.multipliedReportingOverflow(by: factor)
            return overflow ? nil : bytes
        }
        return nil
    }

    private static func parseHooks(_ root: TOMLTable, _ reader: inout TOMLReader) -> Hooks {
        let table = reader.table(root, "hooks", key: "hooks")
        defer {
            if let table {
                reader.reportUnknownKeys(
                    table,
                    prefix: "hooks",
                    known: ["on_primary", "on_backup", "on_fault", "on_stop", "timeout", "capabilities"]
                )
            }
        }
        func path(_ name: String) -> String? {
            guard let path = reader.string(table, name, key: "hooks.\(name)") else { return nil }
            if !path.hasPrefix("/") { reader.issue("hooks.\(name)", "must be an absolute path to an executable") }
            return path
        }
        var hooks = Hooks(
            onPrimary: path("on_primary"),
            onBackup: path("on_backup"),
            onFault: path("on_fault"),
            onStop: path("on_stop")
        )
        if let timeout = reader.duration(table, "timeout", key: "hooks.timeout") {
            if timeout < .milliseconds(100) { reader.issue("hooks.timeout", "must be at least 100ms") }
            hooks.timeout = timeout
        }
        for name in reader.strings(table, "capabilities", key: "hooks.capabilities") ?? [] {
            if let capability = Capability(name: name) {
                hooks.capabilities.append(capability)
            } else {
                reader.issue("hooks.capabilities", "\"\(name)\" is not a capability; use names like \"CAP_NET_ADMIN\"")
            }
        }
        return hooks
    }
}
