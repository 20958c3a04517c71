/// Parses durations as operators write them: `50ms`, `1s`, `1.5s`, `250us`, `2m`; a bare number is milliseconds
/// (as in HAProxy).
public enum DurationParser {
    /// The duration, or nil when the text is not one.
    public static func parse(_ text: String) -> Duration? {
        let trimmed = text.trimmingWhitespace()
        let digits = trimmed.prefix { $0.isNumber || $0 == "." }
        let unit = trimmed.dropFirst(digits.count)
        guard !digits.isEmpty, let value = Double(digits), value >= 0, value.isFinite else { return nil }
        let nanosecondsPerUnit: Double
        switch unit {
        case "", "ms": nanosecondsPerUnit = 1_000_000
        case "us", "µs": nanosecondsPerUnit = 1_000
        case "s": nanosecondsPerUnit = 1_000_000_000
        case "m": nanosecondsPerUnit = 60_000_000_000
        case "h": nanosecondsPerUnit = 3_600_000_000_000
        default: return nil
        }
        let total = value * nanosecondsPerUnit
        guard total < 9e18 else { return nil }
        return .nanoseconds(Int64(total.rounded()))
    }
}

extension StringProtocol {
    /// The text without leading and trailing white space.
    func trimmingWhitespace() -> String {
        String(drop { $0.isWhitespace }.reversed().drop { $0.isWhitespace }.reversed())
    }
}
