import FailoverCore
import Synchronization

/// What the watchdog needs to prove the agent is alive: the main loop processed a tick and sent a
/// heartbeat, and the engine supervisor (when there is an engine) went through its loop, all recently. Written by the loop, read by the watchdog.
final class ProgressMonitor: Sendable {
    struct Marks: Sendable {
        var tickProcessed = Instant.zero
        var heartbeatSent = Instant.zero
        /// The engine supervisor's last pass through its loop (nil: no engine supervised).
        var supervisorPass: Instant?
    }

    private let marks = Mutex(Marks())

    func tickProcessed(at now: Instant) { marks.withLock { $0.tickProcessed = now } }
    func heartbeatSent(at now: Instant) { marks.withLock { $0.heartbeatSent = now } }
    func supervisorPassed(at now: Instant) { marks.withLock { $0.supervisorPass = now } }

    /// Why the agent is not proven alive at `now` within `window`, or nil when it is.
    func problem(at now: Instant, window: Duration) -> String? {
        let current = marks.withLock { $0 }
        if now - current.tickProcessed > window {
            return "no tick processed for \((now - current.tickProcessed).compactDescription)"
        }
        if now - current.heartbeatSent > window {
            return "no heartbeat sent for \((now - current.heartbeatSent).compactDescription)"
        }
        // The supervisor passes every 250 ms; allow a full second so a slow pass is not a hang.
        if let pass = current.supervisorPass, now - pass > max(window, .seconds(1)) {
            return "the engine supervisor has not run for \((now - pass).compactDescription)"
        }
        return nil
    }
}
