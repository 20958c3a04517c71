import NIOHTTP1

/// The rules for passing HTTP/1.x messages through a proxy (RFC 9110 §7.6, RFC 9112 §6-§9): framing checks
/// that stop request smuggling, hop-by-hop headers, keep-alive, `X-Forwarded-For`, the sticky cookie.
/// Pure functions of the message heads; public for the HTTP head fuzz target (`failover-fuzz`).
public enum HTTPMessageRules {
    /// The request decoder's limits: heads larger than HAProxy's default buffer (16 KiB) are refused with 400,
    /// as HAProxy does.
    public static var decoderLimits: NIOHTTPDecoderLimitConfiguration {
        var limits = NIOHTTPDecoderLimitConfiguration()
        limits.maxHeaderListSize = 16_384
        limits.maxHeaderFieldSize = 16_384
        limits.maxHeaderFieldCount = 200
        return limits
    }

    /// The encoder for requests to servers. It must not frame the body itself: ``upstreamRequest(_:clientAddress:forwardFor:removeCookie:serverAuthority:)``
    /// already keeps the client's `Content-Length` or chunking, and NIO's automatic framing drops the
    /// `Content-Length` of a `TRACE` (its body would then reach the server as the start of another request)
    /// and chunks a `POST` that has no body.
    public static var upstreamEncoderConfiguration: HTTPRequestEncoder.Configuration {
        var configuration = HTTPRequestEncoder.Configuration()
        configuration.automaticallySetFramingHeaders = false
        return configuration
    }

    /// Headers that describe one connection, never forwarded (plus any named in `Connection`).
    public static let hopByHop: Set<String> = [
        "connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade",
        "proxy-authorization", "proxy-authenticate",
    ]

    /// Why a request head cannot be forwarded safely, as the status to answer; nil when it can.
    /// The decoder already refuses malformed heads, duplicate differing `Content-Length`s and
    /// `Content-Length` beside `Transfer-Encoding`; these checks hold even if it did not.
    public static func rejection(of head: HTTPRequestHead) -> (HTTPResponseStatus, String)? {
        guard head.version.major == 1, head.version.minor <= 1 else {
            return (.httpVersionNotSupported, "only HTTP/1.0 and HTTP/1.1 are supported")
        }
        let encodings = head.headers["transfer-encoding"]
        let lengths = head.headers["content-length"]
        if !encodings.isEmpty {
            if !lengths.isEmpty { return (.badRequest, "Content-Length and Transfer-Encoding together") }
            let codings = tokens(encodings)
            guard codings == ["chunked"] else {
                return (.notImplemented, "only 'Transfer-Encoding: chunked' is supported")
            }
            if head.version.minor == 0 { return (.badRequest, "Transfer-Encoding in an HTTP/1.0 request") }
        }
        if !lengths.isEmpty {
            let values = Set(lengths.flatMap { $0.split(separator: ",") }.map { $0.trimmingSpaces })
            guard values.count == 1, let value = values.first, !value.isEmpty, value.allSatisfy(\.isASCIIDigit),
                value.count <= 18
            else { return (.badRequest, "invalid or conflicting Content-Length") }
        }
        let hosts = head.headers["host"]
        if head.version.minor == 1 && hosts.count != 1 {
            return (.badRequest, hosts.isEmpty ? "no Host header" : "more than one Host header")
        }
        if hosts.count > 1 { return (.badRequest, "more than one Host header") }
        return nil
    }

    /// Whether the client keeps the connection open after this exchange.
    public static func keepsAlive(_ version: HTTPVersion, _ headers: HTTPHeaders) -> Bool {
        var close = false
        var keepAlive = false
        forEachConnectionToken(headers) { token in
            if token.equalsLowercase("close") { close = true }
            if token.equalsLowercase("keep-alive") { keepAlive = true }
        }
        if version.major == 1 && version.minor >= 1 { return !close }
        return keepAlive
    }

    /// Whether the request has a body (RFC 9112 §6.3: only `Content-Length` or `Transfer-Encoding` say so).
    public static func hasBody(_ head: HTTPRequestHead) -> Bool {
        if head.headers.contains(name: "transfer-encoding") { return true }
        return head.headers["content-length"].first.map { $0.trimmingSpaces != "0" } ?? false
    }

    /// The request to send to a server: HTTP/1.1, hop-by-hop headers removed (the body framing is set again
    /// by the encoder: `Content-Length` kept, chunked when the client sent chunked), optionally
    /// `X-Forwarded-For` added, the sticky cookie removed (`indirect`), and a Host (the server's address)
    /// added when an HTTP/1.0 client sent none.
    public static func upstreamRequest(
        _ head: HTTPRequestHead,
        clientAddress: String?,
        forwardFor: Bool,
        removeCookie: String?,
        serverAuthority: String
    ) -> HTTPRequestHead {
        var headers = head.headers
        let chunked = headers.contains(name: "transfer-encoding")
        stripHopByHop(&headers, also: "expect")
        if chunked { headers.add(name: "transfer-encoding", value: "chunked") }
        if forwardFor, let clientAddress { headers.add(name: "x-forwarded-for", value: clientAddress) }
        if let removeCookie { removingCookie(removeCookie, from: &headers) }
        // HTTP/1.1 needs a Host; an HTTP/1.0 client may have sent none.
        if !headers.contains(name: "host") { headers.add(name: "host", value: serverAuthority) }
        return HTTPRequestHead(version: .http1_1, method: head.method, uri: head.uri, headers: headers)
    }

    /// Whether a server's connection can carry another request after this response.
    public static func serverKeepsAlive(_ head: HTTPResponseHead) -> Bool {
        guard keepsAlive(head.version, head.headers) else { return false }
        // A body delimited by the server closing the connection ends the connection.
        let framed =
            head.headers.contains(name: "content-length") || head.headers.contains(name: "transfer-encoding")
            || !head.status.mayHaveResponseBody
        return framed
    }

    /// The response to send to the client: in the client's HTTP version, hop-by-hop headers removed (the
    /// encoder frames the body again: length kept, else chunked for HTTP/1.1, else ended by closing),
    /// `Connection: close` when the connection ends, and the sticky cookie when one is inserted.
    public static func clientResponse(
        _ head: HTTPResponseHead,
        requestVersion: HTTPVersion,
        keepAlive: Bool,
        setCookie: String?,
        nocache: Bool
    ) -> HTTPResponseHead {
        var headers = head.headers
        let chunked = headers.contains(name: "transfer-encoding")
        stripHopByHop(&headers)
        if chunked && requestVersion.minor >= 1 { headers.add(name: "transfer-encoding", value: "chunked") }
        if !keepAlive {
            headers.add(name: "connection", value: "close")
        } else if requestVersion.minor == 0 {
            headers.add(name: "connection", value: "keep-alive")
        }
        if let setCookie {
            headers.add(name: "set-cookie", value: setCookie)
            if nocache { headers.replaceOrAdd(name: "cache-control", value: "private") }
        }
        return HTTPResponseHead(version: requestVersion, status: head.status, headers: headers)
    }

    /// Whether the client's response can be delimited without closing (it has a length, or HTTP/1.1
    /// chunking can be used, or it has no body).
    public static func clientResponseFramed(_ head: HTTPResponseHead, requestVersion: HTTPVersion) -> Bool {
        head.headers.contains(name: "content-length") || requestVersion.minor >= 1
            || !head.status.mayHaveResponseBody
    }

    /// The value of cookie `name` in the request's `Cookie` headers.
    public static func cookie(_ name: String, in headers: HTTPHeaders) -> String? {
        for line in headers["cookie"] {
            for pair in line.split(separator: ";") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                if parts.count == 2 && parts[0].trimmingSpaces == name { return String(parts[1].trimmingSpaces) }
            }
        }
        return nil
    }

    /// Removes cookie `name` from the `Cookie` headers (and a header left empty).
    public static func removingCookie(_ name: String, from headers: inout HTTPHeaders) {
        let lines = headers["cookie"]
        guard !lines.isEmpty else { return }
        headers.remove(name: "cookie")
        for line in lines {
            let kept = line.split(separator: ";").filter { pair in
                pair.split(separator: "=", maxSplits: 1).first.map { $0.trimmingSpaces != name } ?? true
            }
            if !kept.isEmpty {
                headers.add(name: "cookie", value: kept.map { $0.trimmingSpaces }.joined(separator: "; "))
            }
        }
    }

    /// Removes the hop-by-hop headers, those the `Connection` header names, and `also` (a lowercase name).
    /// One pass over the headers, and no copy when there is nothing to remove (the common case).
    public static func stripHopByHop(_ headers: inout HTTPHeaders, also: String? = nil) {
        var names = hopByHopNames
        forEachConnectionToken(headers) { token in
            // Usually `keep-alive` or `close`: no string is made for those.
            guard !hopByHopNames.contains(where: { token.equalsLowercase($0) }), !token.equalsLowercase("close") else {
                return
            }
            names.append(String(decoding: token, as: UTF8.self).lowercased())
        }
        if let also { names.append(also) }
        func removed(_ name: String) -> Bool { names.contains { $0.equalsIgnoringASCIICase(name) } }
        guard headers.contains(where: { removed($0.name) }) else { return }
        var kept = HTTPHeaders()
        kept.reserveCapacity(headers.count)
        for (name, value) in headers where !removed(name) { kept.add(name: name, value: value) }
        headers = kept
    }

    private static let hopByHopNames = Array(hopByHop)

    /// Calls `body` with each token of the `Connection` headers (split at commas, spaces and tabs trimmed,
    /// case as sent), without allocating.
    static func forEachConnectionToken(_ headers: HTTPHeaders, _ body: (UnsafeBufferPointer<UInt8>) -> Void) {
        for (name, value) in headers where "connection".equalsIgnoringASCIICase(name) {
            var value = value
            value.withUTF8 { bytes in
                var start = 0
                while start < bytes.count {
                    var end = start
                    while end < bytes.count && bytes[end] != UInt8(ascii: ",") { end += 1 }
                    var first = start
                    var last = end
                    while first < last && (bytes[first] == 0x20 || bytes[first] == 0x09) { first += 1 }
                    while last > first && (bytes[last - 1] == 0x20 || bytes[last - 1] == 0x09) { last -= 1 }
                    if first < last { body(UnsafeBufferPointer(rebasing: bytes[first..<last])) }
                    start = end + 1
                }
            }
        }
    }

    /// Comma-separated header values as lowercased, trimmed tokens.
    public static func tokens(_ values: [String]) -> [String] {
        values.flatMap { $0.split(separator: ",") }.map { $0.trimmingSpaces.lowercased() }.filter { !$0.isEmpty }
    }
}

extension StringProtocol {
    /// Without leading and trailing spaces and tabs.
    fileprivate var trimmingSpaces: String {
        let isSpace = { (c: Character) in c == " " || c == "\t" }
        guard let first = firstIndex(where: { !isSpace($0) }) else { return "" }
        let last = lastIndex(where: { !isSpace($0) })!
        return String(self[first...last])
    }
}

extension String {
    /// Whether `other` is this lowercase ASCII name in any case (lengths compared first: no allocation).
    fileprivate func equalsIgnoringASCIICase(_ other: String) -> Bool {
        guard utf8.count == other.utf8.count else { return false }
        for (a, b) in zip(utf8, other.utf8) where a != b {
            guard b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z") && a == b | 0x20 else { return false }
        }
        return true
    }
}

extension UnsafeBufferPointer<UInt8> {
    /// Whether these bytes are `name` (lowercase ASCII) in any case.
    fileprivate func equalsLowercase(_ name: String) -> Bool {
        guard count == name.utf8.count else { return false }
        for (a, b) in zip(name.utf8, self) where a != b {
            guard b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z") && a == b | 0x20 else { return false }
        }
        return true
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}
