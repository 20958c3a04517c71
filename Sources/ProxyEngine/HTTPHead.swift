import NIOCore

/// One HTTP/1.x message head (a request or a response) as it arrived, with the positions of its parts and
/// the facts the proxy acts on. The engine parses heads itself, in place in the bytes it read, and forwards
/// them rewritten but otherwise byte for byte: no header is turned into a `String` on the way through.
///
/// Parsing is strict where a lenient reading could make the engine and a server disagree about where a
/// message ends (RFC 9112 §11.2, request smuggling): no whitespace before a colon, no line folding, no
/// bare CR, no control characters in values, one `Content-Length` value, `Transfer-Encoding` only as
/// checked by ``HTTPHeadParser``. A line may end with LF alone (RFC 9112 §2.2); the engine writes CRLF.
public struct HTTPHead: Sendable {
    /// Header names the engine acts on (matched in any case); `other` for every other name.
    public enum Name: UInt8, Sendable {
        case other
        case host, contentLength, transferEncoding, connection, keepAlive, proxyConnection, te, trailer, upgrade
        case proxyAuthorization, proxyAuthenticate, expect, cookie, cacheControl
        /// A name listed in this head's `Connection` header (set after parsing).
        case namedByConnection

        /// Headers that describe one connection and are never forwarded (RFC 9110 §7.6.1), besides those
        /// the `Connection` header names. `Transfer-Encoding` is handled with the body framing.
        public var isHopByHop: Bool {
            switch self {
            case .connection, .keepAlive, .proxyConnection, .te, .trailer, .upgrade, .proxyAuthorization,
                .proxyAuthenticate, .namedByConnection:
                return true
            default:
                return false
            }
        }
    }

    /// One header line: where its name and value (without surrounding spaces) are in ``bytes``.
    public struct Field: Sendable {
        public var name: Range<Int>
        public var value: Range<Int>
        public var kind: Name
    }

    /// How a message's body is delimited (RFC 9112 §6.3).
    public enum Framing: Sendable, Equatable {
        /// No body.
        case none
        /// Exactly this many bytes.
        case length(Int)
        /// Chunked transfer coding.
        case chunked
        /// Everything until the server closes the connection (responses only).
        case untilClose
    }

    /// The head's bytes, from the start line to the empty line that ends it, both included.
    public var bytes: ByteBuffer
    /// Request: the method; response: the status code and reason (positions in ``bytes``).
    public var method: Range<Int> = 0..<0
    /// Request: the request target.
    public var target: Range<Int> = 0..<0
    /// Response: the status code.
    public var status = 0
    /// Response: the status code and reason phrase, as sent.
    public var statusText: Range<Int> = 0..<0
    /// The `x` of `HTTP/1.x`.
    public var minorVersion = 1
    /// The header lines in order.
    public var fields: [Field] = []
    /// The single valid `Content-Length`, if one was sent.
    public var contentLength: Int?
    /// Whether a `Transfer-Encoding` header was sent.
    public var hasTransferEncoding = false
    /// Whether `chunked` is the last transfer coding (the message is chunked).
    public var chunked = false
    /// Whether `Transfer-Encoding` is exactly `chunked` (the only coding accepted in requests).
    public var onlyChunked = false
    /// The `Connection` tokens `close` and `keep-alive`.
    public var connectionClose = false
    public var connectionKeepAlive = false
    /// How many `Host` lines, and the value of the first.
    public var hostCount = 0
    public var host: Range<Int>?
    /// Whether `Expect: 100-continue` was sent.
    public var expectsContinue = false

    public init() { bytes = Self.emptyBuffer }

    /// One empty buffer shared by every head and handler that starts empty (`ByteBuffer()` allocates).
    public static let emptyBuffer = ByteBufferAllocator().buffer(capacity: 0)

    /// Whether the request's method is `HEAD` (its response has no body).
    public var isHEAD: Bool { equals(method, "HEAD") }

    /// Whether the connection stays open after this message, by its version and `Connection` tokens.
    public var keepsAlive: Bool { !connectionClose && (minorVersion >= 1 || connectionKeepAlive) }

    /// Whether the method is idempotent (RFC 9110 §9.2.2): only those are sent again on a fresh connection.
    public var isIdempotent: Bool {
        isHEAD || equals(method, "GET") || equals(method, "OPTIONS") || equals(method, "TRACE")
            || equals(method, "PUT") || equals(method, "DELETE")
    }

    /// The path and the authority of an absolute-form target (`http://host/path`), which take precedence
    /// over the Host header (RFC 9112 §3.2.2); nil for other forms.
    public var absoluteForm: (authority: String, path: String)? {
        let text = string(target)
        let lowered = text.prefix(8).lowercased()
        let scheme = lowered.hasPrefix("http://") ? 7 : lowered.hasPrefix("https://") ? 8 : 0
        guard scheme > 0 else { return nil }
        let rest = text.dropFirst(scheme)
        let slash = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex
        let path = rest[slash...]
        return (String(rest[..<slash]), path.isEmpty || path.first == "?" ? "/" + path : String(path))
    }

    /// The request body's framing (requests have no body unless they say so).
    public var requestFraming: Framing {
        if hasTransferEncoding { return .chunked }
        if let contentLength, contentLength > 0 { return .length(contentLength) }
        return .none
    }

    /// The response body's framing, given the request it answers (RFC 9112 §6.3).
    public func responseFraming(requestIsHEAD: Bool) -> Framing {
        if requestIsHEAD || status < 200 || status == 204 || status == 304 { return .none }
        if hasTransferEncoding { return chunked ? .chunked : .untilClose }
        if let contentLength { return contentLength > 0 ? .length(contentLength) : .none }
        return .untilClose
    }

    /// The bytes at `range` as a string (for logs, routing and tests).
    public func string(_ range: Range<Int>) -> String {
        bytes.getString(at: bytes.readerIndex + range.lowerBound, length: range.count) ?? ""
    }

    /// The values of the fields of kind `name`, as strings (for tests and rare paths).
    public func values(_ name: Name) -> [String] { fields.filter { $0.kind == name }.map { string($0.value) } }

    /// Whether the bytes at `range` are `text` exactly.
    public func equals(_ range: Range<Int>, _ text: StaticString) -> Bool {
        guard range.count == text.utf8CodeUnitCount else { return false }
        return bytes.withUnsafeReadableBytes { raw in
            for i in 0..<range.count where raw[range.lowerBound + i] != text.utf8Start[i] { return false }
            return true
        }
    }

    /// Whether the bytes at `range` start with `prefix`.
    public func hasPrefix(_ range: Range<Int>, _ prefix: String) -> Bool {
        var prefix = prefix
        return prefix.withUTF8 { wanted in
            guard range.count >= wanted.count else { return false }
            return bytes.withUnsafeReadableBytes { raw in
                for i in 0..<wanted.count where raw[range.lowerBound + i] != wanted[i] { return false }
                return true
            }
        }
    }

    /// Whether a field's name is `lowercasedName` (ASCII, compared without regard to case).
    public func hasField(named lowercasedName: [UInt8]) -> Bool { firstField(named: lowercasedName) != nil }

    /// The value of the first field named `lowercasedName` (ASCII, compared without regard to case).
    public func firstValue(named lowercasedName: [UInt8]) -> String? { firstField(named: lowercasedName).map(string) }

    private func firstField(named lowercasedName: [UInt8]) -> Range<Int>? {
        bytes.withUnsafeReadableBytes { raw in
            fields.first { field in
                field.name.count == lowercasedName.count
                    && zip(raw[field.name], lowercasedName).allSatisfy { byte, wanted in
                        ((UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte | 0x20 : byte) == wanted
                    }
            }?.value
        }
    }
}
