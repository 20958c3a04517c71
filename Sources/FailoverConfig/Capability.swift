/// A Linux capability by name, as `capabilities(7)` and systemd's `AmbientCapabilities=` spell them.
public struct Capability: Hashable, Sendable, CustomStringConvertible {
    /// The capability's number (its bit in a capability set).
    public let bit: Int

    /// Every name this version knows, in number order (`CAP_CHOWN` is 0).
    public static let names = [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID",
        "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
        "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO",
        "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
        "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE",
        "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
        "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
    ]

    /// The one the engine keeps: listeners on ports below 1024.
    public static let netBindService = Capability(bit: 10)

    init(bit: Int) { self.bit = bit }

    /// The capability named `name` (`CAP_NET_ADMIN`, `cap_net_admin` or `net_admin`), or nil.
    public init?(name: String) {
        let upper = name.uppercased()
        let full = upper.hasPrefix("CAP_") ? upper : "CAP_" + upper
        guard let bit = Self.names.firstIndex(of: full) else { return nil }
        self.bit = bit
    }

    public var description: String { Self.names[bit] }

    /// A set of capabilities as a bit mask.
    public static func mask(_ capabilities: some Sequence<Capability>) -> UInt64 {
        capabilities.reduce(0) { $0 | (1 << UInt64($1.bit)) }
    }

    /// The capabilities of a bit mask, in number order.
    public static func list(_ mask: UInt64) -> [Capability] {
        (0..<min(64, names.count)).filter { mask & (1 << UInt64($0)) != 0 }.map(Capability.init(bit:))
    }
}
