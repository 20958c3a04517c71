public import FailoverCore
public import FailoverWire

/// The agent's configuration, as read from its TOML file (docs/configuration.md lists every key).
public struct AgentConfiguration: Hashable, Sendable {
    /// `[node]`: who this node is.
    public struct Node: Hashable, Sendable {
        public var name: NodeName
        public var priority: UInt8
        public var preempt: Bool
        public var preemptDelay: Duration
    }

    /// One `[[cluster.link]]`: an independent path to the peer.
    public struct Link: Hashable, Sendable {
        public var local: IPAddress
        public var peer: IPAddress
    }

    /// `[cluster]`: how the peers talk.
    public struct Cluster: Hashable, Sendable {
        public var keyFile: String
        public var port: UInt16
        public var heartbeatInterval: Duration
        public var deadInterval: Duration
        public var handoffTimeout: Duration
        public var links: [Link]
    }

    /// One `[[vip]]`: a shared address and the interface it lives on.
    public struct VIP: Hashable, Sendable {
        public var address: IPAddress
        public var prefixLength: Int
        public var interface: String
    }

    /// `[witness]`: what an isolated node probes to know it is the isolated one.
    public struct Witness: Hashable, Sendable {
        public var targets: [Endpoint]
        public var interval: Duration
        public var timeout: Duration
    }

    /// Which proxy engine the agent supervises.
    public enum EngineKind: String, Sendable, CaseIterable {
        case embedded
        case haproxy
    }

    /// `[engine]`: the proxy engine and the files synced from primary to backup.
    public struct Engine: Hashable, Sendable {
        public var kind: EngineKind
        /// The engine's configuration; nil: no engine is supervised (the agent only moves the VIP).
        public var config: String?
        public var syncFiles: [String]
        /// The executable: `haproxy` for kind haproxy (default /usr/sbin/haproxy); the agent's own for embedded.
        public var binary: String?
        /// What the liveness probe connects to; nil: the first wildcard or loopback `bind` of the config.
        public var probe: Endpoint?
        /// How long a started engine has to say it is ready before it is restarted.
        public var readyTimeout: Duration
        /// How long a primary waits for its engine to be ready again before it hands over or goes to fault.
        public var grace: Duration
        /// The largest config bundle (config and side files together) this node fetches, in bytes.
        public var syncLimit: Int = Defaults.syncLimit
        /// The user the engine runs as (its checks too), with only CAP_NET_BIND_SERVICE. nil: `failover-engine`
        /// when that user exists (the package creates it), else the agent's own user; "": the agent's own user.
        public var user: String?
    }

    /// `[hooks]`: executables run on role changes, never delaying a claim or a release.
    public struct Hooks: Hashable, Sendable {
        public var onPrimary: String?
        public var onBackup: String?
        public var onFault: String?
        public var onStop: String?
        /// A hook still running after this is killed.
        public var timeout: Duration
        /// The capabilities hooks keep (none by default: a hook gets none of the agent's CAP_NET_ADMIN/NET_RAW).
        public var capabilities: [Capability]

        public init(
            onPrimary: String? = nil,
            onBackup: String? = nil,
            onFault: String? = nil,
            onStop: String? = nil,
            timeout: Duration = Defaults.hookTimeout,
            capabilities: [Capability] = []
        ) {
            self.onPrimary = onPrimary
            self.onBackup = onBackup
            self.onFault = onFault
            self.onStop = onStop
            self.timeout = timeout
            self.capabilities = capabilities
        }
    }

    public var node: Node
    public var cluster: Cluster
    public var vips: [VIP]
    public var witness: Witness?
    public var engine: Engine
    public var hooks: Hooks
    /// `[control] socket`: the operator socket.
    public var controlSocket: String
    /// `[metrics] listen`: the Prometheus endpoint, nil when disabled.
    public var metricsListen: Endpoint?

    /// The election's view of this configuration.
    public var election: ElectionConfiguration {
        var election = ElectionConfiguration(
            name: node.name,
            priority: node.priority,
            preempt: node.preempt,
            preemptDelay: node.preemptDelay,
            heartbeatInterval: cluster.heartbeatInterval,
            deadInterval: cluster.deadInterval,
            linkCount: cluster.links.count,
            witnessConfigured: witness != nil,
            handoffTimeout: cluster.handoffTimeout,
            engineGracePeriod: engine.grace
        )
        // Both nodes started together: the higher priority's engine gets the grace period to come up (as a
        // primary's engine gets it to come back) before this node takes the role instead.
        if engine.config != nil { election.peerStartWait = engine.grace }
        return election
    }

    /// Defaults shared by the docs, the parser and `failoverctl check`.
    public enum Defaults {
        public static let priority = 100
        public static let port: UInt16 = 7946
        public static let heartbeatInterval = Duration.milliseconds(50)
        public static let deadInterval = Duration.milliseconds(250)
        public static let handoffTimeout = Duration.seconds(1)
        public static let preemptDelay = Duration.seconds(1)
        public static let witnessInterval = Duration.milliseconds(500)
        public static let witnessTimeout = Duration.milliseconds(300)
        public static let controlSocket = "/run/failover-agent/control.sock"
        public static let metricsListen = "127.0.0.1:9101"
        public static let haproxyBinary = "/usr/sbin/haproxy"
        public static let engineReadyTimeout = Duration.seconds(10)
        public static let engineGrace = Duration.seconds(3)
        public static let syncLimit = 16 << 20
        public static let hookTimeout = Duration.seconds(10)
    }
}
