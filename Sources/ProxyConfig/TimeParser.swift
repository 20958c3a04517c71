/// HAProxy time values: a number with an optional unit (`us`, `ms`, `s`, `m`, `h`, `d`); no unit means ms.
/// As in HAProxy, a time above 2147483647 ms (about 24.8 days) is refused, so no later conversion overflows.
enum TimeParser {
    /// The largest time HAProxy accepts, in milliseconds.
    static let maximumMilliseconds: Int64 = 2_147_483_647

    /// Why a text is not a usable time.
    enum Failure: Error, Equatable {
        case notATime
        case tooLarge
    }

    static func parse(_ text: String) -> Result<Duration, Failure> {
        let digits = text.utf8.prefix { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
        guard !digits.isEmpty else { return .failure(.notATime) }
        // More digits than any accepted time has: too large, whatever the unit.
        guard digits.count <= 13, let value = Int64(String(decoding: digits, as: UTF8.self)) else {
            return .failure(.tooLarge)
        }
        let microsecondsPerUnit: Int64
        switch text.dropFirst(digits.count) {
        case "", "ms": microsecondsPerUnit = 1_000
        case "us": microsecondsPerUnit = 1
        case "s": microsecondsPerUnit = 1_000_000
        case "m": microsecondsPerUnit = 60_000_000
        case "h": microsecondsPerUnit = 3_600_000_000
        case "d": microsecondsPerUnit = 86_400_000_000
        default: return .failure(.notATime)
        }
        let (microseconds, overflow) = value.multipliedReportingOverflow(by: microsecondsPerUnit)
        guard !overflow, microseconds / 1_000 <= maximumMilliseconds else { return .failure(.tooLarge) }
        return .success(.microseconds(microseconds))
    }

    /// The error text for a failed time, naming the limit when it was too large.
    static func explain(_ failure: Failure, _ text: String, example: String) -> String {
        switch failure {
        case .notATime: "'\(text)' is not a time (e.g. \(example))"
        case .tooLarge: "'\(text)' is too large: the maximum is 2147483647 ms (~24.8 days), as in HAProxy"
        }
    }
}
