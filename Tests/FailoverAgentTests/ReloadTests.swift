import FailoverConfig
import Foundation
import Testing

@testable import FailoverAgent

@Suite("Agent reload")
struct ReloadTests {
    static let base = """
        [node]
        name = "lb1"
        priority = 150

        [cluster]
        key_file = "/etc/failover-agent/cluster.key"

        [[cluster.link]]
        local = "192.0.2.11"
        peer = "192.0.2.12"

        [[vip]]
        address = "192.0.2.100/24"
        interface = "eth0"

        [engine]
        config = "/etc/failover-agent/proxy.cfg"

        [hooks]
        on_primary = "/usr/local/bin/primary.sh"

        """

    static func parse(_ text: String) throws -> AgentConfiguration {
        try AgentConfiguration.parse(text, file: "agent.toml")
    }

    @Test("a reload names every section it does not apply; 'reloaded' alone only when nothing else changed")
    func namesWhatNeedsARestart() throws {
        let running = try Self.parse(Self.base)
        #expect(AgentLoop.restartNeeded(running: running, fresh: running).isEmpty)
        let hooks = try Self.parse(Self.base.replacingOccurrences(of: "primary.sh", with: "other.sh"))
        #expect(AgentLoop.restartNeeded(running: running, fresh: hooks) == ["[hooks]"])
        let witness = try Self.parse(Self.base + "[witness]\ntargets = [\"192.0.2.1\"]\n")
        #expect(AgentLoop.restartNeeded(running: running, fresh: witness) == ["[witness]"])
        let metrics = try Self.parse(Self.base + "[metrics]\nlisten = \"off\"\n")
        #expect(AgentLoop.restartNeeded(running: running, fresh: metrics) == ["[metrics]"])
        let engine = try Self.parse(
            Self.base.replacingOccurrences(of: "[engine]\n", with: "[engine]\ngrace = \"5s\"\n")
        )
        #expect(AgentLoop.restartNeeded(running: running, fresh: engine) == ["[engine]"])
        let key = try Self.parse(Self.base.replacingOccurrences(of: "cluster.key", with: "other.key"))
        #expect(AgentLoop.restartNeeded(running: running, fresh: key).isEmpty, "the key file is read again on reload")
    }
}
