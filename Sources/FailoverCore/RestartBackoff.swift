/// How long to wait before restarting a process that exited: `initial`, doubling after each quick failure
/// up to `maximum`; back to `initial` once a run lasted `stablePeriod`. Pure: the caller passes how long the
/// run lasted.
public struct RestartBackoff: Sendable, Hashable {
    public let initial: Duration
    public let maximum: Duration
    public let stablePeriod: Duration
    private var current: Duration

    /// Creates a backoff (defaults: 500 ms doubling to 30 s, reset after 60 s of stable running).
    public init(
        initial: Duration = .milliseconds(500),
        maximum: Duration = .seconds(30),
        stablePeriod: Duration = .seconds(60)
    ) {
        self.initial = initial
        self.maximum = maximum
        self.stablePeriod = stablePeriod
        self.current = initial
    }

    /// The delay before the next start, given how long the run that just ended lasted.
    public mutating func delay(afterRunOf length: Duration) -> Duration {
        if length >= stablePeriod { current = initial }
        let delay = current
        current = min(current * 2, maximum)
        return delay
    }
}
