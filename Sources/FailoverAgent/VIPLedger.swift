import FailoverConfig

#if canImport(Glibc)
import Glibc
#endif

/// The VIPs this agent added to its interfaces and has not removed yet, in a file that outlives a killed
/// agent (the state directory) but not the host's boot (the file carries the kernel's boot id): the agent
/// removes only what it added. An address it finds but did not add (the node's own address written as a
/// VIP by mistake, or one added by hand) is left in place and reported, never deleted.
struct VIPLedger: Sendable {
    /// nil: nothing is kept across runs (every VIP found at start is then treated as not added by the agent).
    let path: String?

    static func key(_ vip: AgentConfiguration.VIP) -> String { "\(vip.address)/\(vip.prefixLength) \(vip.interface)" }

    /// The VIPs recorded in this boot of the host.
    func recorded() -> Set<String> {
        guard let path, let text = SmallFile.read(path) else { return [] }
        var lines = text.split(separator: "\n").map(String.init)
        guard !lines.isEmpty, lines.removeFirst() == Self.bootID() else { return [] }
        return Set(lines)
    }

    func contains(_ vip: AgentConfiguration.VIP) -> Bool { recorded().contains(Self.key(vip)) }

    func record(_ vip: AgentConfiguration.VIP) { update { $0.insert(Self.key(vip)) } }

    func forget(_ vip: AgentConfiguration.VIP) { update { $0.remove(Self.key(vip)) } }

    private func update(_ change: (inout Set<String>) -> Void) {
        guard let path else { return }
        var keys = recorded()
        change(&keys)
        SmallFile.write(path, ([Self.bootID()] + keys.sorted()).joined(separator: "\n") + "\n")
    }

    /// The kernel's id of this boot (a new one after every reboot, when every added address is gone).
    static func bootID() -> String {
        (SmallFile.read("/proc/sys/kernel/random/boot_id") ?? "unknown").filter { !$0.isWhitespace }
    }
}
