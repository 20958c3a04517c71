import FailoverWire
import Metrics

/// The agent's metrics (swift-metrics; exported by the Prometheus endpoint).
struct AgentMetrics: Sendable {
    let transitions = Counter(label: "failover_transitions_total")
    let vipClaims = Counter(label: "failover_vip_claims_total")
    let vipReleases = Counter(label: "failover_vip_releases_total")
    let announcements = Counter(label: "failover_vip_announcements_total")
    let term = Gauge(label: "failover_term")
    let configGeneration = Gauge(label: "failover_config_generation")
    let syncApplied = Counter(label: "failover_config_sync_total", dimensions: [("result", "applied")])
    let syncFailed = Counter(label: "failover_config_sync_total", dimensions: [("result", "failed")])

    func sent(link: Int) {
        Counter(label: "failover_datagrams_sent_total", dimensions: [("link", "\(link)")]).increment()
    }

    func received(link: Int) {
        Counter(label: "failover_datagrams_received_total", dimensions: [("link", "\(link)")]).increment()
    }

    /// The datagram version spoken with `peer`: the highest both read, 0 when they share none.
    func peerProtocol(_ peer: String, version: UInt8) {
        Gauge(label: "failover_peer_protocol_version", dimensions: [("peer", peer)]).record(Double(version))
    }

    func rejected(link: Int, reason: String) {
        Counter(label: "failover_datagrams_rejected_total", dimensions: [("link", "\(link)"), ("reason", reason)])
            .increment()
    }

    /// A control request refused before it could act: `reason` is `permission` or `bad_request`.
    func controlRefused(reason: String) {
        Counter(label: "failover_control_refused_total", dimensions: [("reason", reason)]).increment()
    }

    func role(_ role: Role) {
        for candidate in Role.allCases {
            Gauge(label: "failover_role", dimensions: [("role", candidate.description)]).record(
                candidate == role ? 1 : 0
            )
        }
    }

    func peerAge(_ peer: String, seconds: Double) {
        Gauge(label: "failover_peer_last_heartbeat_age_seconds", dimensions: [("peer", peer)]).record(seconds)
    }
}
