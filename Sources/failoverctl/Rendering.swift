import ControlProtocol
import Foundation

/// Human output of failoverctl.
enum Rendering {
    static func status(_ status: StatusSnapshot) -> String {
        var lines: [String] = []
        lines.append(
            "\(status.node): \(status.role) since \(status.roleSince) (term \(status.term), priority \(status.priority))"
        )
        lines.append("  reason:  \(status.reason)")
        let holder = status.vipHolder.map { $0 == status.node ? "held here" : "held by \($0)" } ?? "held by nobody"
        lines.append("  vip:     \(status.vips.joined(separator: ", ")) — \(holder) (\(status.vipState) here)")
        var health = "  engine:  \(status.engine)"
        if let witness = status.witness { health += " · witness \(witness)" }
        if status.maintenance { health += " · MAINTENANCE" }
        lines.append(health)
        lines.append(
            "  config:  generation \(status.configGeneration) (\(status.configHash)) · key \(status.keyFingerprint)"
        )
        if let release = status.release {
            lines.append("  release: \(release) · protocol \(status.protocolVersions ?? "1")")
        }
        if let note = status.configNote { lines.append("  config:  \(note)") }
        if status.peers.isEmpty { lines.append("peer: none heard yet (check the links and the key)") }
        for peer in status.peers {
            lines.append(
                "peer \(peer.name): \(peer.alive ? peer.role : "NOT HEARD (last said \(peer.role))"), term \(peer.term), "
                    + "priority \(peer.priority)\(peer.holdsVIP ? ", holds the VIP" : "")"
                    + "\(peer.engineReady ? "" : ", engine not ready")\(peer.maintenance ? ", maintenance" : "")"
            )
            for link in peer.links {
                var text = "  link \(link.index) \(link.local) → \(link.peer): \(link.alive ? "alive" : "DOWN")"
                if let heard = link.lastHeardMilliseconds {
                    text += ", last heard \(milliseconds(heard)) ago"
                } else {
                    text += ", never heard"
                }
                if let roundTrip = link.roundTripMilliseconds { text += ", rtt \(milliseconds(roundTrip))" }
                lines.append(text)
            }
            let sync =
                peer.configGeneration == status.configGeneration && peer.configHash == status.configHash
                ? "in sync" : "DIFFERS (here \(status.configGeneration)/\(status.configHash))"
            lines.append("  config:  generation \(peer.configGeneration) (\(peer.configHash)) — \(sync)")
            if let spoken = peer.protocolSpoken {
                let release = peer.release ?? "0.3.0 or older"
                let versions = peer.protocolVersions ?? "1"
                lines.append(
                    spoken == 0
                        ? "  release: \(release) · protocol \(versions): INCOMPATIBLE with this node's "
                            + "\(status.protocolVersions ?? "?"): its role is heard, but no handoff reaches it; "
                            + "upgrade the older node"
                        : "  release: \(release) · protocol \(versions), speaking \(spoken)"
                )
            }
        }
        if !status.rejected.isEmpty {
            let counts = status.rejected.keys.sorted().map { "\($0) \(status.rejected[$0]!)" }.joined(separator: ", ")
            lines.append("rejected datagrams: \(counts)")
        }
        return lines.joined(separator: "\n")
    }

    static func history(_ entries: [HistoryEntry]) -> String {
        entries.map { entry in
            entry.from == entry.to
                ? "\(entry.at)  \(entry.to)  term \(entry.term)  \(entry.reason)"
                : "\(entry.at)  \(entry.from) → \(entry.to)  term \(entry.term)  \(entry.reason)"
        }.joined(separator: "\n")
    }

    static func configVersions(_ versions: [ConfigVersion]) -> String {
        guard !versions.isEmpty else { return "no config versions kept yet" }
        return versions.map { version in
            let status = version.status == "rejected" ? "REJECTED  " : ""
            return
                "\(version.savedAt)  generation \(version.generation) (\(version.hash))  \(status)\(version.origin)\n"
                + "    \(version.path)"
        }.joined(separator: "\n")
    }

    static func milliseconds(_ value: Double) -> String {
        if value < 10 { return String(format: "%.2fms", value) }
        if value < 1_000 { return String(format: "%.0fms", value) }
        return String(format: "%.1fs", value / 1_000)
    }
}
