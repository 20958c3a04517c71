import FailoverCore
import Logging
import SystemdNotify

/// Pings systemd's watchdog at half the interval it asks for, but only while the main loop processes ticks,
/// heartbeats go out and the VIP worker answers: a stuck agent stops pinging and systemd restarts it.
struct Watchdog: Sendable {
    let progress: ProgressMonitor
    let clock: AgentClock
    let logger: Logger
    let systemd = SystemdNotifier()

    func run() async {
        guard let interval = systemd.watchdogInterval() else { return }
        let period = interval / 2
        logger.info("systemd watchdog on", metadata: ["interval": "\(interval.compactDescription)"])
        var complained = false
        while !Task.isCancelled {
            try? await Task.sleep(for: period)
            if let problem = progress.problem(at: clock.now(), window: period) {
                if !complained {
                    logger.critical(
                        "watchdog not pinged: the agent is not making progress",
                        metadata: ["problem": "\(problem)"]
                    )
                    complained = true
                }
                continue
            }
            complained = false
            systemd.watchdog()
        }
    }
}
