public import FailoverCore
public import FailoverWire

/// The agent's configuration, as read from its TOML file (docs/configuration.md lists every key).
public struct AgentConfiguration: Sendable {
    /// `[node]`: who this node is.
    public struct Node: Sendable {
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
    public struct Cluster: Sendable {
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
    public struct Witness: Sendable {
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
    public struct Engine: Sendable {
        public var kind: EngineKind
        public var config: String?
        public var syncFiles: [String]
    }

    public var node: Node
    public var cluster: Cluster
    public var vips: [VIP]
    public var witness: Witness?
    public var engine: Engine
    /// `[control] socket`: the operator socket.
    public var controlSocket: String
    /// `[metrics] listen`: the Prometheus endpoint, nil when disabled.
    public var metricsListen: Endpoint?

    /// The election's view of this configuration.
    public var election: ElectionConfiguration {
        ElectionConfiguration(
            name: node.name,
            priority: node.priority,
            preempt: node.preempt,
            preemptDelay: node.preemptDelay,
            heartbeatInterval: cluster.heartbeatInterval,
            deadInterval: cluster.deadInterval,
            linkCount: cluster.links.count,
            witnessConfigured: witness != nil,
            handoffTimeout: cluster.handoffTimeout
        )
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
    }
}
