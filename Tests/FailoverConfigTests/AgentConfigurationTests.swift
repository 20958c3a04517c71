import FailoverConfig
import FailoverCore
import FailoverWire
import Testing

@Suite("Agent configuration")
struct AgentConfigurationTests {
    static let example = """
        [node]
        name = "lb1"
        priority = 150

        [cluster]
        key_file = "/etc/failover-agent/cluster.key"
        heartbeat_interval = "50ms"
        dead_interval = "250ms"

        [[cluster.link]]
        local = "192.0.2.11"
        peer = "192.0.2.12"

        [[cluster.link]]
        local = "198.51.100.11"
        peer = "198.51.100.12"

        [[vip]]
        address = "192.0.2.100/24"
        interface = "eth0"

        [[vip]]
        address = "2001:db8::100/64"
        interface = "eth0"

        [witness]
        targets = ["192.0.2.1", "192.0.2.2:443"]

        [engine]
        kind = "embedded"
        config = "/etc/failover-agent/proxy.cfg"
        sync_files = ["/etc/failover-agent/errors/503.http"]

        [control]
        socket = "/run/failover-agent/control.sock"

        [metrics]
        listen = "127.0.0.1:9101"
        """

    @Test("the documented example parses with every value")
    func example() throws {
        let configuration = try AgentConfiguration.parse(Self.example, file: "agent.toml")
        #expect(configuration.node.name.value == "lb1")
        #expect(configuration.node.priority == 150)
        #expect(configuration.node.preempt == false)
        #expect(configuration.cluster.port == 7946)
        #expect(configuration.cluster.links.count == 2)
        #expect(configuration.cluster.links[1].peer.description == "198.51.100.12")
        #expect(configuration.vips.map(\.address.description) == ["192.0.2.100", "2001:db8::100"])
        #expect(configuration.vips[1].prefixLength == 64)
        #expect(configuration.witness?.targets.map(\.description) == ["192.0.2.1", "192.0.2.2:443"])
        #expect(configuration.engine.syncFiles.count == 1)
        #expect(configuration.metricsListen?.description == "127.0.0.1:9101")
        let election = configuration.election
        #expect(election.linkCount == 2)
        #expect(election.witnessConfigured)
        #expect(election.deadInterval == .milliseconds(250))
    }

    @Test("defaults fill what is left out")
    func defaults() throws {
        let text = """
            [node]
            name = "lb2"
            [cluster]
            key_file = "/k"
            [[cluster.link]]
            local = "192.0.2.12"
            peer = "192.0.2.11"
            [[vip]]
            address = "192.0.2.100/24"
            interface = "eth0"
            """
        let configuration = try AgentConfiguration.parse(text, file: "a.toml")
        #expect(configuration.node.priority == 100)
        #expect(configuration.cluster.heartbeatInterval == .milliseconds(50))
        #expect(configuration.cluster.deadInterval == .milliseconds(250))
        #expect(configuration.engine.kind == .embedded)
        #expect(configuration.controlSocket == "/run/failover-agent/control.sock")
        #expect(configuration.witness == nil)
    }

    static func issues(_ text: String) -> [String] {
        do {
            _ = try AgentConfiguration.parse(text, file: "agent.toml")
            return []
        } catch {
            return error.issues.map(\.description)
        }
    }

    @Test("a dead interval shorter than 3 heartbeats names the file, line, key and fix")
    func deadInterval() {
        let text = Self.example.replacingOnce("dead_interval = \"250ms\"", with: "dead_interval = \"150ms\"")
            .replacingOnce("heartbeat_interval = \"50ms\"", with: "heartbeat_interval = \"100ms\"")
        #expect(
            Self.issues(text) == [
                "agent.toml:8: cluster.dead_interval: (150ms) must be at least 3 × heartbeat_interval (100ms); "
                    + "set it to 500ms or more"
            ]
        )
    }

    @Test("a VIP equal to a link's local or peer address is refused: the agent would take the node's own address")
    func vipIsALinkAddress() {
        let local = Self.example.replacingOnce("address = \"192.0.2.100/24\"", with: "address = \"192.0.2.11/24\"")
        #expect(Self.issues(local).contains { $0.contains("vip.0.address: 192.0.2.11 is cluster.link.0.local") })
        let peer = Self.example.replacingOnce("address = \"192.0.2.100/24\"", with: "address = \"198.51.100.12/24\"")
        #expect(Self.issues(peer).contains { $0.contains("vip.0.address: 198.51.100.12 is cluster.link.1.peer") })
    }

    @Test("sync_files may not name the agent's own files (its TOML, key or hooks)")
    func syncFilesNotOwn() {
        let key = Self.example.replacingOnce(
            "sync_files = [\"/etc/failover-agent/errors/503.http\"]",
            with: "sync_files = [\"/etc/failover-agent/cluster.key\"]"
        )
        #expect(Self.issues(key).contains { $0.contains("is one of the agent's own files") })
    }

    @Test("every problem is reported at once, in file order")
    func manyErrors() {
        let text = """
            [node]
            name = "lb 1"
            priority = 300
            prioirty = 3
            [cluster]
            key_file = "relative.key"
            port = 70000
            [[cluster.link]]
            local = "192.0.2.300"
            peer = "2001:db8::1"
            [[vip]]
            address = "192.0.2.100"
            interface = "eth0"
            [engine]
            kind = "nginx"
            """
        let issues = Self.issues(text)
        #expect(
            issues.contains(
                "agent.toml:2: node.name: \"lb 1\" is not a valid name: use 1-64 letters, digits, '.', '_' or '-'"
            )
        )
        #expect(
            issues.contains("agent.toml:3: node.priority: 300 is out of range; use 1-255 (higher wins an election)")
        )
        #expect(issues.contains("agent.toml:4: node.prioirty: unknown key; did you mean node.priority?"))
        #expect(issues.contains("agent.toml:6: cluster.key_file: must be an absolute path"))
        #expect(issues.contains("agent.toml:7: cluster.port: 70000 is not a UDP port; use 1-65535 (default 7946)"))
        #expect(issues.contains("agent.toml:9: cluster.link.0.local: \"192.0.2.300\" is not an IPv4 or IPv6 address"))
        #expect(issues.contains { $0.hasPrefix("agent.toml:12: vip.0.address: \"192.0.2.100\" must be ADDR/PREFIX") })
        #expect(
            issues.contains("agent.toml:15: engine.kind: \"nginx\" is not an engine; use \"embedded\" or \"haproxy\"")
        )
        let lines = issues.compactMap { Int($0.split(separator: ":")[1]) }
        #expect(lines == lines.sorted())
    }

    @Test("missing sections say what to add")
    func missing() {
        let issues = Self.issues("")
        #expect(issues.contains("agent.toml: missing [node] section; add one with at least: name = \"lb1\""))
        #expect(issues.contains { $0.contains("missing [cluster] section") })
        #expect(issues.contains { $0.contains("no [[vip]]") })
    }

    @Test("TOML syntax errors give the line")
    func syntax() {
        let issues = Self.issues("[node]\nname = \"lb1\n")
        #expect(issues.count == 1)
        #expect(issues[0].hasPrefix("agent.toml:2: not valid TOML"))
    }

    @Test("wrong types are explained")
    func types() {
        let text = Self.example.replacingOnce("priority = 150", with: "priority = \"high\"")
        #expect(Self.issues(text) == ["agent.toml:3: node.priority: must be a whole number, not a string"])
    }

    @Test(
        "durations as operators write them",
        arguments: [
            ("50ms", Duration.milliseconds(50)), ("2s", .seconds(2)), ("1.5s", .milliseconds(1_500)),
            ("2000", .seconds(2)), ("250us", .microseconds(250)), ("1m", .seconds(60)),
        ]
    )
    func durations(text: String, expected: Duration) {
        #expect(DurationParser.parse(text) == expected)
    }

    @Test("bad durations are refused", arguments: ["", "ms", "5 parsecs", "-1s", "1e400s"])
    func badDurations(text: String) {
        #expect(DurationParser.parse(text) == nil)
    }

    @Test(
        "endpoints",
        arguments: [
            ("192.0.2.1", "192.0.2.1"), ("192.0.2.1:80", "192.0.2.1:80"), ("[2001:db8::1]:443", "[2001:db8::1]:443"),
            ("2001:db8::1", "2001:db8::1"),
        ]
    )
    func endpoints(text: String, printed: String) {
        #expect(Endpoint(text)?.description == printed)
    }
}

extension String {
    func replacingOnce(_ target: String, with replacement: String) -> String {
        let parts = split(separator: target, maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        guard parts.count > 1 else { return self }
        return parts[0] + replacement + parts[1]
    }
}

@Suite("engine.sync_limit")
struct SyncLimitTests {
    @Test("sizes with units are read; bad ones name the key and the fix")
    func sizes() {
        #expect(AgentConfiguration.parseSize("16MiB") == 16 << 20)
        #expect(AgentConfiguration.parseSize("512KiB") == 512 << 10)
        #expect(AgentConfiguration.parseSize("1 GiB") == 1 << 30)
        #expect(AgentConfiguration.parseSize("4096") == 4_096)
        #expect(AgentConfiguration.parseSize("lots") == nil)
        #expect(AgentConfiguration.parseSize("-1MiB") == nil)
    }
}

@Suite("TOML input the parser underneath does not survive")
struct TOMLPrecheckTests {
    /// Found by `scripts/fuzz.sh toml`: toml++ aborted on these (Fuzz/regressions/toml holds the inputs).
    @Test(
        "a non-ASCII character outside strings and comments is a clear error, not a crash",
        arguments: [
            "[\u{F8}", "[é]", "[ é]", "[[é", "[\u{FFFD}", "[node]\nké = 1", "[=", "[.a]", "[[=]]", "[a]\n[.]", " [!",
        ]
    )
    func refused(text: String) {
        #expect(throws: ConfigurationError.self) { try AgentConfiguration.parse(text, file: "a.toml") }
        do {
            _ = try AgentConfiguration.parse(text, file: "a.toml")
        } catch {
            #expect(error.description.contains("not valid TOML"))
        }
    }

    @Test("arrays that span lines are not table headers")
    func arrays() {
        #expect(TOMLPrecheck.firstBadTableHeader(in: "a = [\n  [ [1], 2],\n]\n[node]\n") == nil)
        #expect(TOMLPrecheck.firstBadTableHeader(in: "a = { b = [\n[ 1 ]] }\n['quoted']\n") == nil)
        #expect(TOMLPrecheck.firstBadTableHeader(in: "a = \"[\"\n[=]")?.line == 2)
    }

    @Test("non-ASCII text inside strings and comments is fine")
    func allowed() {
        let text = "# café\n[node]\nname = \"lb1\" # é\n[hooks]\non_primary = '/opt/é/hook'\n"
        #expect(TOMLPrecheck.firstNonASCII(in: text) == nil)
        #expect(TOMLPrecheck.firstNonASCII(in: "a = \"\"\"\né\n\"\"\"\nb = '''\né'''\n") == nil)
        #expect(TOMLPrecheck.firstNonASCII(in: "a = \"x\\\"é\"") == nil)
        #expect(TOMLPrecheck.firstNonASCII(in: "a = 1\nbé = 2")?.line == 2)
    }
}
