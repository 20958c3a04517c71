import NIOCore

/// The rules for passing HTTP/1.x messages through a proxy (RFC 9110 §7.6, RFC 9112 §6-§9): the heads sent
/// on (hop-by-hop headers removed, the framing headers written once and normalized, `X-Forwarded-For`, the
/// sticky cookie), keep-alive on each side. Pure functions of parsed heads (``HTTPHead``) that write bytes;
/// public for the HTTP head fuzz target (`failover-fuzz`).
public enum HTTPMessageRules {
    /// Writes the request to send to a server, as HAProxy 2.6 does: in the client's version (an HTTP/1.0
    /// request with `connection: keep-alive`), hop-by-hop headers and `Expect` removed, the body framing
    /// written once (`Content-Length: N` or `Transfer-Encoding: chunked`), optionally the forwarded-for
    /// header, the sticky cookie removed (`indirect`), `connection: close` when the server connection ends.
    public static func writeUpstreamRequest(
        _ head: HTTPHead,
        into out: inout ByteBuffer,
        clientAddress: String?,
        forwardFor: String?,
        removeCookie: String?,
        closeConnection: Bool = false
    ) {
        head.bytes.withUnsafeReadableBytes { raw in
            out.writeBytes(UnsafeRawBufferPointer(rebasing: raw[head.method]))
            out.writeInteger(UInt8(ascii: " "))
            out.writeBytes(UnsafeRawBufferPointer(rebasing: raw[head.target]))
            out.writeStaticString(head.minorVersion == 0 ? " HTTP/1.0\r\n" : " HTTP/1.1\r\n")
            var framingWritten = false
            for field in head.fields {
                switch field.kind {
                case .contentLength, .transferEncoding:
                    if !framingWritten {
                        framingWritten = true
                        writeFraming(head, into: &out)
                    }
                case .expect:
                    continue
                case .cookie:
                    if let removeCookie {
                        writeCookie(raw, field, removing: removeCookie, into: &out)
                    } else {
                        writeField(raw, field, into: &out)
                    }
                default:
                    if !field.kind.isHopByHop { writeField(raw, field, into: &out) }
                }
            }
        }
        if let forwardFor, let clientAddress {
            out.writeString(forwardFor)
            out.writeStaticString(": ")
            out.writeString(clientAddress)
            out.writeStaticString("\r\n")
        }
        if closeConnection {
            out.writeStaticString("connection: close\r\n")
        } else if head.minorVersion == 0 {
            // An HTTP/1.0 request goes on as HTTP/1.0; the engine keeps the server connection (as HAProxy).
            out.writeStaticString("connection: keep-alive\r\n")
        }
        out.writeStaticString("\r\n")
    }

    /// Writes the response to send to the client: in the client's HTTP version, hop-by-hop headers removed,
    /// `Content-Length` written once (dropped beside `Transfer-Encoding`), `Transfer-Encoding` dropped when
    /// the engine takes the chunking off (`dechunk`, for an HTTP/1.0 client), `Connection: close` when the
    /// connection ends (`keep-alive` for an HTTP/1.0 client that keeps it), and the sticky cookie when one is
    /// inserted (with `Cache-Control: private` for `nocache`). A 1xx or 204 loses its framing headers.
    public static func writeClientResponse(
        _ head: HTTPHead,
        into out: inout ByteBuffer,
        clientMinorVersion: Int,
        keepAlive: Bool,
        dechunk: Bool,
        setCookie: String?,
        nocache: Bool
    ) {
        let replaceCacheControl = setCookie != nil && nocache
        // 1xx and 204 have no body: their framing headers are dropped, as HAProxy does (RFC 9110 §8.6).
        let bodiless = head.status < 200 || head.status == 204
        head.bytes.withUnsafeReadableBytes { raw in
            out.writeStaticString(clientMinorVersion == 0 ? "HTTP/1.0 " : "HTTP/1.1 ")
            out.writeBytes(UnsafeRawBufferPointer(rebasing: raw[head.statusText]))
            out.writeStaticString("\r\n")
            var lengthWritten = false
            var codingWritten = false
            for field in head.fields {
                switch field.kind {
                case .contentLength:
                    if !bodiless && !lengthWritten && !head.hasTransferEncoding, let length = head.contentLength {
                        lengthWritten = true
                        out.writeStaticString("content-length: ")
                        writeDecimal(length, into: &out)
                        out.writeStaticString("\r\n")
                    }
                case .transferEncoding:
                    // A chunked body is passed on as it is: one normalized line says so. Other codings (read
                    // until close) are passed on as sent.
                    if dechunk || codingWritten || bodiless { continue }
                    if head.onlyChunked {
                        codingWritten = true
                        out.writeStaticString("transfer-encoding: chunked\r\n")
                    } else {
                        writeField(raw, field, into: &out)
                    }
                case .cacheControl:
                    if !replaceCacheControl { writeField(raw, field, into: &out) }
                default:
                    if !field.kind.isHopByHop { writeField(raw, field, into: &out) }
                }
            }
        }
        if !keepAlive {
            out.writeStaticString("connection: close\r\n")
        } else if clientMinorVersion == 0 {
            out.writeStaticString("connection: keep-alive\r\n")
        }
        if let setCookie {
            out.writeStaticString("set-cookie: ")
            out.writeString(setCookie)
            out.writeStaticString("\r\n")
            if nocache { out.writeStaticString("cache-control: private\r\n") }
        }
        out.writeStaticString("\r\n")
    }

    /// Whether a server's connection can carry another request after this response.
    public static func serverKeepsAlive(_ head: HTTPHead, framing: HTTPHead.Framing) -> Bool {
        // A body delimited by the server closing ends the connection; a response with both framing
        // headers must not be followed by another (RFC 9112 §6.1).
        head.keepsAlive && framing != .untilClose && !(head.hasTransferEncoding && head.contentLength != nil)
    }

    /// The value of cookie `name` in the request's `Cookie` headers.
    public static func cookie(_ name: String, in head: HTTPHead) -> String? {
        var found: String?
        head.bytes.withUnsafeReadableBytes { raw in
            for field in head.fields where field.kind == .cookie && found == nil {
                forEachCookie(raw, field.value) { pair, nameEnd, valueStart in
                    if found == nil && matches(raw, pair.lowerBound..<nameEnd, name) {
                        found = String(
                            decoding: UnsafeRawBufferPointer(rebasing: raw[valueStart..<pair.upperBound]),
                            as: UTF8.self
                        )
                    }
                }
            }
        }
        return found
    }

    /// Calls `body` with each `name=value` pair of a `Cookie` value (split at `;`, spaces and tabs around it
    /// trimmed), the end of its name (trailing spaces trimmed) and the start of its value. Bytes, not
    /// characters: a non-ASCII character that looks like `;` or `=` is not one.
    private static func forEachCookie(
        _ raw: UnsafeRawBufferPointer,
        _ range: Range<Int>,
        _ body: (_ pair: Range<Int>, _ nameEnd: Int, _ valueStart: Int) -> Void
    ) {
        HTTPHeadParser.forEachToken(raw, range, separator: UInt8(ascii: ";")) { pair in
            var equals = pair.lowerBound
            while equals < pair.upperBound && raw[equals] != UInt8(ascii: "=") { equals += 1 }
            var nameEnd = equals
            while nameEnd > pair.lowerBound && (raw[nameEnd - 1] == 0x20 || raw[nameEnd - 1] == 0x09) { nameEnd -= 1 }
            var valueStart = min(equals + 1, pair.upperBound)
            while valueStart < pair.upperBound && (raw[valueStart] == 0x20 || raw[valueStart] == 0x09) {
                valueStart += 1
            }
            body(pair, nameEnd, valueStart)
        }
    }

    private static func matches(_ raw: UnsafeRawBufferPointer, _ range: Range<Int>, _ name: String) -> Bool {
        var name = name
        return name.withUTF8 { wanted in
            wanted.count == range.count && wanted.elementsEqual(raw[range])
        }
    }

    private static func writeFraming(_ head: HTTPHead, into out: inout ByteBuffer) {
        if head.hasTransferEncoding {
            out.writeStaticString("transfer-encoding: chunked\r\n")
        } else if let length = head.contentLength {
            out.writeStaticString("content-length: ")
            writeDecimal(length, into: &out)
            out.writeStaticString("\r\n")
        }
    }

    private static func writeField(_ raw: UnsafeRawBufferPointer, _ field: HTTPHead.Field, into out: inout ByteBuffer) {
        out.writeBytes(UnsafeRawBufferPointer(rebasing: raw[field.name]))
        out.writeStaticString(": ")
        out.writeBytes(UnsafeRawBufferPointer(rebasing: raw[field.value]))
        out.writeStaticString("\r\n")
    }

    /// A `Cookie` line without cookie `name` (nothing when no other cookie is left); the other pairs are
    /// kept byte for byte.
    private static func writeCookie(
        _ raw: UnsafeRawBufferPointer,
        _ field: HTTPHead.Field,
        removing name: String,
        into out: inout ByteBuffer
    ) {
        var wroteName = false
        forEachCookie(raw, field.value) { pair, nameEnd, _ in
            if matches(raw, pair.lowerBound..<nameEnd, name) { return }
            if wroteName {
                out.writeStaticString("; ")
            } else {
                wroteName = true
                out.writeBytes(UnsafeRawBufferPointer(rebasing: raw[field.name]))
                out.writeStaticString(": ")
            }
            out.writeBytes(UnsafeRawBufferPointer(rebasing: raw[pair]))
        }
        if wroteName { out.writeStaticString("\r\n") }
    }

    private static func writeDecimal(_ value: Int, into out: inout ByteBuffer) {
        if value < 10 {
            out.writeInteger(UInt8(truncatingIfNeeded: value) + UInt8(ascii: "0"))
        } else {
            out.writeString(String(value))
        }
    }
}
