import NIOCore

/// Why a head cannot be forwarded, with the status the engine answers (a request) or the reason it gives
/// up on a server (a response).
public enum HTTPHeadError: Error, Equatable, Sendable {
    /// Not valid HTTP/1.x, or valid but ambiguous about its framing: 400 (502 for a response).
    case malformed(String)
    /// The head is larger than ``HTTPHeadParser/maxHeadSize`` or has more than ``HTTPHeadParser/maxFields``
    /// lines: 400 (502 for a response).
    case tooLarge
    /// Not HTTP/1.0 or HTTP/1.1: 505.
    case unsupportedVersion
    /// A transfer coding other than `chunked` alone, or the `CONNECT` method: 501.
    case notImplemented(String)

    /// The status code to answer a client with.
    public var status: Int {
        switch self {
        case .malformed, .tooLarge: return 400
        case .unsupportedVersion: return 505
        case .notImplemented: return 501
        }
    }

    /// One line for the error page and the log.
    public var detail: String {
        switch self {
        case .malformed(let reason): return "The request is malformed: \(reason)."
        case .tooLarge: return "The request head is too large."
        case .unsupportedVersion: return "Only HTTP/1.0 and HTTP/1.1 are supported."
        case .notImplemented(let what): return "\(what) is not supported."
        }
    }
}

/// Parses HTTP/1.x heads in place (see ``HTTPHead`` for the rules). Pure: bytes in, a head or an error out.
public enum HTTPHeadParser {
    /// The largest head accepted, as HAProxy's default buffer (16 KiB).
    public static let maxHeadSize = 16_384
    /// The most header lines accepted in one head.
    public static let maxFields = 200

    /// Parses the request head at the start of `buffer`'s readable bytes into `head` (its field list is
    /// reused). Returns the head's length in bytes, or nil when the head is not complete yet.
    public static func parseRequest(_ buffer: ByteBuffer, into head: inout HTTPHead) throws(HTTPHeadError) -> Int? {
        guard let length = try parse(buffer, into: &head, request: true) else { return nil }
        if head.equals(head.method, "CONNECT") { throw .notImplemented("The CONNECT method") }
        if head.hasTransferEncoding {
            if head.contentLength != nil { throw .malformed("Content-Length and Transfer-Encoding together") }
            if !head.onlyChunked { throw .notImplemented("A transfer coding other than 'chunked'") }
            if head.minorVersion == 0 { throw .malformed("Transfer-Encoding in an HTTP/1.0 request") }
        }
        if head.hostCount > 1 { throw .malformed("more than one Host header") }
        if head.hostCount == 0 && head.minorVersion == 1 { throw .malformed("no Host header") }
        // An absolute-form target names the host itself; a Host header that names another is refused, as
        // HAProxy does (a server reading the Host would see another site than the one routed).
        if !head.hasPrefix(head.target, "/"), let host = head.host, let absolute = head.absoluteForm {
            let https = head.string(head.target).prefix(8).lowercased().hasPrefix("https://")
            if authorityKey(absolute.authority, https: https) != authorityKey(head.string(host), https: https) {
                throw .malformed("the Host header differs from the authority of the absolute-form target")
            }
        }
        return length
    }

    /// An authority compared as HAProxy compares it: without regard to case, the scheme's default port dropped.
    static func authorityKey(_ authority: String, https: Bool) -> String {
        let lowered = authority.lowercased()
        let defaultPort = https ? ":443" : ":80"
        return lowered.hasSuffix(defaultPort) ? String(lowered.dropLast(defaultPort.count)) : lowered
    }

    /// Whether the bytes from `offset` on (relative to the readable bytes) hold the end of a head (an empty
    /// line): the parser runs again only then, not on every read of a slow client's head.
    public static func mayHoldHeadEnd(_ buffer: ByteBuffer, from offset: Int) -> Bool {
        buffer.withUnsafeReadableBytes { raw in
            var i = max(0, offset)
            while i < raw.count {
                if raw[i] == 0x0A {
                    if i + 1 < raw.count && raw[i + 1] == 0x0A { return true }
                    if i + 2 < raw.count && raw[i + 1] == 0x0D && raw[i + 2] == 0x0A { return true }
                }
                i += 1
            }
            return raw.count >= maxHeadSize
        }
    }

    /// Parses the response head at the start of `buffer`'s readable bytes into `head`. Returns the head's
    /// length, or nil when it is not complete yet.
    public static func parseResponse(_ buffer: ByteBuffer, into head: inout HTTPHead) throws(HTTPHeadError) -> Int? {
        try parse(buffer, into: &head, request: false)
    }

    private static func parse(
        _ buffer: ByteBuffer,
        into head: inout HTTPHead,
        request: Bool
    ) throws(HTTPHeadError) -> Int? {
        head.fields.removeAll(keepingCapacity: true)
        head.contentLength = nil
        head.hasTransferEncoding = false
        head.chunked = false
        head.onlyChunked = false
        head.connectionClose = false
        head.connectionKeepAlive = false
        head.hostCount = 0
        head.host = nil
        head.expectsContinue = false
        let result: Result<Int?, HTTPHeadError> = buffer.withUnsafeReadableBytes { raw in
            do throws(HTTPHeadError) {
                var scanner = Scanner(raw: raw)
                guard let length = try scanner.head(into: &head, request: request) else { return .success(nil) }
                return .success(length)
            } catch {
                return .failure(error)
            }
        }
        guard let length = try result.get() else { return nil }
        head.bytes = buffer.getSlice(at: buffer.readerIndex, length: length)!
        try interpretFields(&head)
        return length
    }

    /// Works out the framing, `Connection`, `Host` and `Expect` facts from the fields.
    private static func interpretFields(_ head: inout HTTPHead) throws(HTTPHeadError) {
        var otherConnectionNames = false
        var lengthError = false
        var lastCoding: Range<Int>?
        var codings = 0
        let bytes = head.bytes
        bytes.withUnsafeReadableBytes { raw in
            for index in head.fields.indices {
                let field = head.fields[index]
                switch field.kind {
                case .contentLength:
                    var values = 0
                    forEachToken(raw, field.value) { token in
                        values += 1
                        guard let value = decimal(raw, token), head.contentLength == nil || head.contentLength == value
                        else {
                            lengthError = true
                            return
                        }
                        head.contentLength = value
                    }
                    if values == 0 { lengthError = true }
                case .transferEncoding:
                    head.hasTransferEncoding = true
                    forEachToken(raw, field.value) { token in
                        codings += 1
                        lastCoding = token
                    }
                case .connection:
                    forEachToken(raw, field.value) { token in
                        if equalsLowercase(raw, token, "close") {
                            head.connectionClose = true
                        } else if equalsLowercase(raw, token, "keep-alive") {
                            head.connectionKeepAlive = true
                        } else {
                            otherConnectionNames = true
                        }
                    }
                case .host:
                    head.hostCount += 1
                    if head.host == nil { head.host = field.value }
                case .expect:
                    forEachToken(raw, field.value) { token in
                        // An HTTP/1.0 client's expectation is ignored (RFC 9110 §10.1.1): it cannot take a 1xx.
                        if equalsLowercase(raw, token, "100-continue") && head.minorVersion >= 1 {
                            head.expectsContinue = true
                        }
                    }
                default:
                    break
                }
            }
            if let lastCoding, equalsLowercase(raw, lastCoding, "chunked") {
                head.chunked = true
                head.onlyChunked = codings == 1
            }
            if otherConnectionNames { markNamedByConnection(raw, &head.fields) }
        }
        if lengthError { throw .malformed("invalid or conflicting Content-Length") }
    }

    /// Marks the fields whose names the `Connection` header lists (never the framing headers or `Host`,
    /// which a client could otherwise make the engine drop).
    private static func markNamedByConnection(_ raw: UnsafeRawBufferPointer, _ fields: inout [HTTPHead.Field]) {
        for connection in fields where connection.kind == .connection {
            forEachToken(raw, connection.value) { token in
                for index in fields.indices {
                    switch fields[index].kind {
                    case .other, .cookie, .cacheControl, .expect:
                        if equalsIgnoringCase(raw, fields[index].name, token) {
                            fields[index].kind = .namedByConnection
                        }
                    default:
                        break
                    }
                }
            }
        }
    }

    /// Calls `body` with each comma-separated (or `separator`-separated) token of `range`, spaces and tabs around it trimmed.
    static func forEachToken(
        _ raw: UnsafeRawBufferPointer,
        _ range: Range<Int>,
        separator: UInt8 = UInt8(ascii: ","),
        _ body: (Range<Int>) -> Void
    ) {
        var start = range.lowerBound
        while start < range.upperBound {
            var end = start
            while end < range.upperBound && raw[end] != separator { end += 1 }
            var first = start
            var last = end
            while first < last && (raw[first] == 0x20 || raw[first] == 0x09) { first += 1 }
            while last > first && (raw[last - 1] == 0x20 || raw[last - 1] == 0x09) { last -= 1 }
            if first < last { body(first..<last) }
            start = end + 1
        }
    }

    /// A decimal of 1 to 18 digits, or nil.
    private static func decimal(_ raw: UnsafeRawBufferPointer, _ range: Range<Int>) -> Int? {
        guard !range.isEmpty, range.count <= 18 else { return nil }
        var value = 0
        for i in range {
            let digit = raw[i] &- UInt8(ascii: "0")
            guard digit < 10 else { return nil }
            value = value * 10 + Int(digit)
        }
        return value
    }

    /// Whether the bytes at `range` are `lowercase` in any case.
    static func equalsLowercase(_ raw: UnsafeRawBufferPointer, _ range: Range<Int>, _ lowercase: StaticString) -> Bool {
        guard range.count == lowercase.utf8CodeUnitCount else { return false }
        let wanted = lowercase.utf8Start
        for i in 0..<range.count {
            let byte = raw[range.lowerBound + i]
            let lowered = byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte
            if lowered != wanted[i] { return false }
        }
        return true
    }

    /// Whether the bytes at two ranges are equal in any case.
    static func equalsIgnoringCase(_ raw: UnsafeRawBufferPointer, _ a: Range<Int>, _ b: Range<Int>) -> Bool {
        guard a.count == b.count else { return false }
        for i in 0..<a.count {
            var x = raw[a.lowerBound + i]
            var y = raw[b.lowerBound + i]
            if x >= 0x41 && x <= 0x5A { x |= 0x20 }
            if y >= 0x41 && y <= 0x5A { y |= 0x20 }
            if x != y { return false }
        }
        return true
    }

    /// Which known header `range` names.
    static func kind(_ raw: UnsafeRawBufferPointer, _ range: Range<Int>) -> HTTPHead.Name {
        func named(_ name: StaticString, _ kind: HTTPHead.Name) -> HTTPHead.Name? {
            equalsLowercase(raw, range, name) ? kind : nil
        }
        switch range.count {
        case 2: return named("te", .te) ?? .other
        case 4: return named("host", .host) ?? .other
        case 6: return named("expect", .expect) ?? named("cookie", .cookie) ?? .other
        case 7: return named("trailer", .trailer) ?? named("upgrade", .upgrade) ?? .other
        case 10: return named("connection", .connection) ?? named("keep-alive", .keepAlive) ?? .other
        case 13: return named("cache-control", .cacheControl) ?? .other
        case 14: return named("content-length", .contentLength) ?? .other
        case 16: return named("proxy-connection", .proxyConnection) ?? .other
        case 17: return named("transfer-encoding", .transferEncoding) ?? .other
        case 18: return named("proxy-authenticate", .proxyAuthenticate) ?? .other
        case 19: return named("proxy-authorization", .proxyAuthorization) ?? .other
        default: return .other
        }
    }
}

/// Reads the lines of one head.
private struct Scanner {
    let raw: UnsafeRawBufferPointer
    var position = 0

    init(raw: UnsafeRawBufferPointer) { self.raw = raw }

    /// The next line (without its CRLF or LF) and moves past it; nil when no line end is there yet.
    mutating func line() throws(HTTPHeadError) -> Range<Int>? {
        let limit = min(raw.count, HTTPHeadParser.maxHeadSize)
        var end = position
        while end < limit && raw[end] != 0x0A { end += 1 }
        guard end < limit else {
            if raw.count >= HTTPHeadParser.maxHeadSize { throw .tooLarge }
            return nil
        }
        let start = position
        position = end + 1
        if end > start && raw[end - 1] == 0x0D { end -= 1 }
        return start..<end
    }

    mutating func head(into head: inout HTTPHead, request: Bool) throws(HTTPHeadError) -> Int? {
        guard var start = try line() else { return nil }
        if request {
            // Empty lines before a request line are ignored (RFC 9112 §2.2), a few of them.
            var skipped = 0
            while start.isEmpty {
                skipped += 1
                if skipped > 4 { throw .malformed("empty lines instead of a request line") }
                guard let next = try line() else { return nil }
                start = next
            }
            try requestLine(start, &head)
        } else {
            try statusLine(start, &head)
        }
        while true {
            guard let line = try line() else { return nil }
            if line.isEmpty { return position }
            try field(line, &head)
        }
    }

    private func requestLine(_ line: Range<Int>, _ head: inout HTTPHead) throws(HTTPHeadError) {
        var i = line.lowerBound
        while i < line.upperBound && HTTPHeadParser.isTokenByte(raw[i]) { i += 1 }
        guard i > line.lowerBound, i < line.upperBound, raw[i] == 0x20 else {
            throw .malformed("invalid request line")
        }
        head.method = line.lowerBound..<i
        i += 1
        let targetStart = i
        while i < line.upperBound && raw[i] > 0x20 && raw[i] < 0x7F { i += 1 }
        guard i > targetStart, i < line.upperBound, raw[i] == 0x20 else { throw .malformed("invalid request target") }
        head.target = targetStart..<i
        head.minorVersion = try version(i + 1, end: line.upperBound)
    }

    private func statusLine(_ line: Range<Int>, _ head: inout HTTPHead) throws(HTTPHeadError) {
        guard line.count >= 12 else { throw .malformed("invalid status line") }
        head.minorVersion = try version(line.lowerBound, end: line.lowerBound + 8)
        let code = line.lowerBound + 9
        guard raw[line.lowerBound + 8] == 0x20 else { throw .malformed("invalid status line") }
        var status = 0
        for i in code..<code + 3 {
            let digit = raw[i] &- UInt8(ascii: "0")
            guard digit < 10 else { throw .malformed("invalid status code") }
            status = status * 10 + Int(digit)
        }
        guard status >= 100 else { throw .malformed("invalid status code") }
        if line.upperBound > code + 3 {
            guard raw[code + 3] == 0x20 else { throw .malformed("invalid status line") }
            for i in code + 4..<line.upperBound where !HTTPHeadParser.isValueByte(raw[i]) {
                throw .malformed("invalid reason phrase")
            }
        }
        head.status = status
        head.statusText = code..<line.upperBound
    }

    /// `HTTP/1.x` from `start` to `end` exactly; returns x.
    private func version(_ start: Int, end: Int) throws(HTTPHeadError) -> Int {
        guard end - start == 8, raw[start] == 0x48, raw[start + 1] == 0x54, raw[start + 2] == 0x54,
            raw[start + 3] == 0x50, raw[start + 4] == 0x2F, raw[start + 6] == 0x2E
        else { throw .malformed("invalid HTTP version") }
        let major = raw[start + 5] &- UInt8(ascii: "0")
        let minor = raw[start + 7] &- UInt8(ascii: "0")
        guard major < 10, minor < 10 else { throw .malformed("invalid HTTP version") }
        guard major == 1, minor <= 1 else { throw .unsupportedVersion }
        return Int(minor)
    }

    private func field(_ line: Range<Int>, _ head: inout HTTPHead) throws(HTTPHeadError) {
        guard head.fields.count < HTTPHeadParser.maxFields else { throw .tooLarge }
        var i = line.lowerBound
        while i < line.upperBound && HTTPHeadParser.isTokenByte(raw[i]) { i += 1 }
        guard i < line.upperBound, raw[i] == UInt8(ascii: ":") else {
            if i == line.lowerBound && (raw[i] == 0x20 || raw[i] == 0x09) {
                throw .malformed("a folded header line")
            }
            throw .malformed("an invalid header name")
        }
        guard i > line.lowerBound else { throw .malformed("an empty header name") }
        let name = line.lowerBound..<i
        var first = i + 1
        var last = line.upperBound
        while first < last && (raw[first] == 0x20 || raw[first] == 0x09) { first += 1 }
        while last > first && (raw[last - 1] == 0x20 || raw[last - 1] == 0x09) { last -= 1 }
        for j in first..<last where !HTTPHeadParser.isValueByte(raw[j]) {
            throw .malformed("a control character in a header value")
        }
        head.fields.append(HTTPHead.Field(name: name, value: first..<last, kind: HTTPHeadParser.kind(raw, name)))
    }

}

extension HTTPHeadParser {
    /// RFC 9110 tchar.
    static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: return true
        case 0x21, 0x23, 0x24, 0x25, 0x26, 0x27, 0x2A, 0x2B, 0x2D, 0x2E, 0x5E, 0x5F, 0x60, 0x7C, 0x7E: return true
        default: return false
        }
    }

    /// HTAB, SP, VCHAR and obs-text: what a header value or reason phrase may hold.
    static func isValueByte(_ byte: UInt8) -> Bool { byte == 0x09 || (byte >= 0x20 && byte != 0x7F) }
}
