/// Why a body's framing is invalid.
public struct HTTPFramingError: Error, Equatable, Sendable {
    public var reason: String
}

/// Finds where a message body ends, byte by byte, without buffering it (RFC 9112 §6-§7). The engine
/// forwards the body as it comes; the framer only says how much of what arrived belongs to the message,
/// and, for a chunked body, which of those bytes are data (to take the chunking off for an HTTP/1.0 client).
///
/// Chunked framing is read strictly, since a server that reads it differently could see another message
/// where the engine sees none: hexadecimal sizes of at most 15 digits, chunk extensions without CR or LF,
/// size lines of at most 4 KiB, every line ending in CRLF, and at most 16 KiB of trailer lines, each a header field
/// (RFC 9112 §7.1.2): a token name, a colon, a value without control characters but HTAB, no obs-fold. HAProxy 2.6
/// answers 400 to a trailer without a colon, with a space in its name or folded; the engine does too (and is
/// stricter on control bytes in the value, which HAProxy forwards).
public struct HTTPBodyFramer: Sendable {
    private enum State: Sendable {
        case length(remaining: Int)
        case untilClose
        case sizeDigits(value: Int, digits: Int)
        /// After the size: spaces, or an extension; `length` counts the line so far (bounded).
        case sizeSpace(value: Int, length: Int)
        case sizeExtension(value: Int, length: Int)
        case sizeLF(value: Int)
        case data(remaining: Int)
        case dataCR
        case dataLF
        /// At the start of a trailer line (or the final empty line).
        case trailerStart(total: Int)
        /// In a trailer field's name (at least one byte of it seen).
        case trailerName(total: Int)
        /// In a trailer field's value (after the colon).
        case trailerValue(total: Int)
        case trailerLF(total: Int, empty: Bool)
        case done
    }

    private var state: State

    /// A framer for a body framed as `framing`.
    public init(_ framing: HTTPHead.Framing) {
        switch framing {
        case .none: state = .done
        case .length(let count): state = count > 0 ? .length(remaining: count) : .done
        case .chunked: state = .sizeDigits(value: 0, digits: 0)
        case .untilClose: state = .untilClose
        }
    }

    /// Whether the whole body has been seen.
    public var isComplete: Bool {
        if case .done = state { return true }
        return false
    }

    /// Whether the body ends only when the connection does.
    public var endsWithConnection: Bool {
        if case .untilClose = state { return true }
        return false
    }

    /// Reads the bytes of `raw` that belong to the body and returns how many that is (all of them unless the
    /// body ends inside). `data` is called with each run of data bytes (without chunk framing).
    public mutating func consume(
        _ raw: UnsafeRawBufferPointer,
        data: (Range<Int>) -> Void = { _ in }
    ) throws(HTTPFramingError) -> Int {
        var i = 0
        let count = raw.count
        while i < count {
            switch state {
            case .done:
                return i
            case .untilClose:
                data(i..<count)
                return count
            case .length(let remaining):
                let take = min(remaining, count - i)
                data(i..<i + take)
                i += take
                state = remaining == take ? .done : .length(remaining: remaining - take)
            case .data(let remaining):
                let take = min(remaining, count - i)
                data(i..<i + take)
                i += take
                state = remaining == take ? .dataCR : .data(remaining: remaining - take)
            case .sizeDigits(let value, let digits):
                let byte = raw[i]
                if let digit = Self.hexValue(byte) {
                    guard digits < 15 else { throw HTTPFramingError(reason: "a chunk size of more than 15 digits") }
                    state = .sizeDigits(value: value << 4 | digit, digits: digits + 1)
                } else {
                    guard digits > 0 else { throw HTTPFramingError(reason: "a chunk without a size") }
                    switch byte {
                    case 0x0D: state = .sizeLF(value: value)
                    case UInt8(ascii: ";"): state = .sizeExtension(value: value, length: digits + 1)
                    case 0x20, 0x09: state = .sizeSpace(value: value, length: digits + 1)
                    default: throw HTTPFramingError(reason: "an invalid chunk size")
                    }
                }
                i += 1
            case .sizeSpace(let value, let length):
                guard length < Self.maxSizeLine else { throw HTTPFramingError(reason: "a chunk size line too long") }
                switch raw[i] {
                case 0x20, 0x09: state = .sizeSpace(value: value, length: length + 1)
                case UInt8(ascii: ";"): state = .sizeExtension(value: value, length: length + 1)
                case 0x0D: state = .sizeLF(value: value)
                default: throw HTTPFramingError(reason: "an invalid chunk size")
                }
                i += 1
            case .sizeExtension(let value, let length):
                guard length < Self.maxSizeLine else { throw HTTPFramingError(reason: "a chunk size line too long") }
                let byte = raw[i]
                if byte == 0x0D {
                    state = .sizeLF(value: value)
                } else if byte == 0x0A || !(byte == 0x09 || (byte >= 0x20 && byte != 0x7F)) {
                    throw HTTPFramingError(reason: "an invalid chunk extension")
                } else {
                    state = .sizeExtension(value: value, length: length + 1)
                }
                i += 1
            case .sizeLF(let value):
                guard raw[i] == 0x0A else { throw HTTPFramingError(reason: "a chunk size line without CRLF") }
                state = value == 0 ? .trailerStart(total: 0) : .data(remaining: value)
                i += 1
            case .dataCR:
                guard raw[i] == 0x0D else { throw HTTPFramingError(reason: "chunk data longer than its size") }
                state = .dataLF
                i += 1
            case .dataLF:
                guard raw[i] == 0x0A else { throw HTTPFramingError(reason: "chunk data without CRLF") }
                state = .sizeDigits(value: 0, digits: 0)
                i += 1
            case .trailerStart(let total):
                let byte = raw[i]
                if byte == 0x0D {
                    state = .trailerLF(total: total + 1, empty: true)
                } else if HTTPHeadParser.isTokenByte(byte) {
                    state = .trailerName(total: total + 1)
                } else if byte == 0x20 || byte == 0x09 {
                    throw HTTPFramingError(reason: "a folded trailer line (obs-fold)")
                } else {
                    throw HTTPFramingError(reason: "a trailer line without a field name")
                }
                i += 1
            case .trailerName(let total):
                guard total < HTTPHeadParser.maxHeadSize else { throw HTTPFramingError(reason: "trailers too large") }
                let byte = raw[i]
                if byte == UInt8(ascii: ":") {
                    state = .trailerValue(total: total + 1)
                } else if HTTPHeadParser.isTokenByte(byte) {
                    state = .trailerName(total: total + 1)
                } else if byte == 0x0D {
                    throw HTTPFramingError(reason: "a trailer line without a colon")
                } else {
                    throw HTTPFramingError(reason: "an invalid trailer field name")
                }
                i += 1
            case .trailerValue(let total):
                guard total < HTTPHeadParser.maxHeadSize else { throw HTTPFramingError(reason: "trailers too large") }
                let byte = raw[i]
                if byte == 0x0D {
                    state = .trailerLF(total: total + 1, empty: false)
                } else if byte == 0x09 || (byte >= 0x20 && byte != 0x7F) {
                    state = .trailerValue(total: total + 1)
                } else {
                    throw HTTPFramingError(reason: "a control character in a trailer value")
                }
                i += 1
            case .trailerLF(let total, let empty):
                guard raw[i] == 0x0A else { throw HTTPFramingError(reason: "a trailer line without CRLF") }
                state = empty ? .done : .trailerStart(total: total + 1)
                i += 1
            }
        }
        return i
    }

    /// The longest chunk size line accepted, extensions included.
    static let maxSizeLine = 4096

    private static func hexValue(_ byte: UInt8) -> Int? {
        switch byte {
        case 0x30...0x39: return Int(byte - 0x30)
        case 0x41...0x46: return Int(byte - 0x41 + 10)
        case 0x61...0x66: return Int(byte - 0x61 + 10)
        default: return nil
        }
    }
}
