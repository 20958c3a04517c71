import FailoverCore
import Synchronization

/// What the watchdog needs to prove the agent is alive: the main loop processed a tick and sent a
/// heartbeat, both recently. Written by the loop, read by the watchdog.
final class ProgressMonitor: Sendable {
    struct Marks: Sendable {
        var tickProcessed = Instant.zero
        var heartbeatSent = Instant.zero
    }

    private let marks = Mutex(Marks())

    func tickProcessed(at now: Instant) { marks.withLock { $0.tickProcessed = now } }
    func heartbeatSent(at now: Instant) { marks.withLock { $0.heartbeatSent = now } }

    /// Why the agent is not proven alive at `now` within `window`, or nil when it is.
    func problem(at now: Instant, window: Duration) -> String? {
        let current = marks.withLock { $0 }
        if now - current.tickProcessed > window {
            return "no tick processed for \((now - current.tickProcessed).compactDescription)"
        }
        if now - current.heartbeatSent > window {
            return "no heartbeat sent for \((now - current.heartbeatSent).compactDescription)"
        }
        return nil
    }
}
