/// HAProxy time values: a number with an optional unit (`us`, `ms`, `s`, `m`, `h`, `d`); no unit means ms.
enum TimeParser {
    static func parse(_ text: String) -> Duration? {
        let digits = text.prefix { $0.isNumber }
        guard !digits.isEmpty, let value = Int64(digits) else { return nil }
        switch text.dropFirst(digits.count) {
        case "", "ms": return .milliseconds(value)
        case "us": return .microseconds(value)
        case "s": return .seconds(value)
        case "m": return .seconds(value * 60)
        case "h": return .seconds(value * 3_600)
        case "d": return .seconds(value * 86_400)
        default: return nil
        }
    }
}
