import CSystemd

#if canImport(Glibc)
import Glibc
#endif

/// Talks to systemd through libsystemd's `sd_notify`: readiness, status, reloads, stopping and the watchdog.
///
/// Outside systemd (no `NOTIFY_SOCKET`) every call is a no-op that succeeds, as libsystemd defines.
public struct SystemdNotifier: Sendable {
    /// Creates a notifier.
    public init() {}

    /// Whether the process runs under systemd with a notify socket.
    public var isEnabled: Bool { notifySocket != nil }

    /// The notify socket path, if any.
    public var notifySocket: String? {
        guard let value = getenv("NOTIFY_SOCKET") else { return nil }
        return String(cString: value)
    }

    /// Sends raw `KEY=VALUE` lines. Returns false when systemd could not be told.
    @discardableResult
    public func send(_ state: String) -> Bool {
        sd_notify(0, state) >= 0
    }

    /// `READY=1` with a status line.
    @discardableResult
    public func ready(status: String) -> Bool { send("READY=1\nSTATUS=\(oneLine(status))") }

    /// `STATUS=` one line.
    @discardableResult
    public func status(_ text: String) -> Bool { send("STATUS=\(oneLine(text))") }

    /// `RELOADING=1` with the monotonic timestamp systemd 253+ wants.
    @discardableResult
    public func reloading(monotonicMicroseconds: UInt64) -> Bool {
        send("RELOADING=1\nMONOTONIC_USEC=\(monotonicMicroseconds)")
    }

    /// `STOPPING=1`.
    @discardableResult
    public func stopping(status: String) -> Bool { send("STOPPING=1\nSTATUS=\(oneLine(status))") }

    /// `WATCHDOG=1`: only call it when the process is proven alive.
    @discardableResult
    public func watchdog() -> Bool { send("WATCHDOG=1") }

    /// The watchdog interval systemd asks for (`WatchdogSec=`), or nil when the watchdog is off.
    public func watchdogInterval() -> Duration? {
        var microseconds: UInt64 = 0
        guard sd_watchdog_enabled(0, &microseconds) > 0, microseconds > 0 else { return nil }
        return .microseconds(Int64(microseconds))
    }

    private func oneLine(_ text: String) -> String {
        String(text.map { $0 == "\n" ? " " : $0 })
    }
}
