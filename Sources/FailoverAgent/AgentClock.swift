import CFailoverNet
import FailoverCore

/// The runtime's clocks: monotonic instants for the election, wall-clock text for operators.
struct AgentClock: Sendable {
    /// Monotonic now.
    func now() -> Instant { Instant(nanoseconds: fa_monotonic_nanoseconds()) }

    /// The wall-clock time of a monotonic instant, as ISO 8601 UTC with milliseconds.
    func wallText(of instant: Instant) -> String {
        let offset = fa_wall_nanoseconds() - fa_monotonic_nanoseconds()
        return Self.iso8601(nanosecondsSince1970: instant.nanoseconds + offset)
    }

    /// ISO 8601 UTC with milliseconds, e.g. `2026-11-22T03:04:05.123Z`.
    static func iso8601(nanosecondsSince1970 nanoseconds: Int64) -> String {
        let milliseconds = nanoseconds / 1_000_000
        var days = milliseconds / 86_400_000
        var rest = milliseconds % 86_400_000
        if rest < 0 {
            rest += 86_400_000
            days -= 1
        }
        // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        func two(_ value: Int64) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let hours = rest / 3_600_000
        let minutes = rest / 60_000 % 60
        let seconds = rest / 1_000 % 60
        let millis = rest % 1_000
        let millisText = millis < 10 ? "00\(millis)" : millis < 100 ? "0\(millis)" : "\(millis)"
        return "\(year)-\(two(month))-\(two(day))T\(two(hours)):\(two(minutes)):\(two(seconds)).\(millisText)Z"
    }

    /// `HH:MM:SS` (UTC) of a monotonic instant, for STATUS= lines.
    func clockText(of instant: Instant) -> String {
        let text = wallText(of: instant)
        let start = text.index(text.startIndex, offsetBy: 11)
        return String(text[start..<text.index(start, offsetBy: 8)])
    }
}
