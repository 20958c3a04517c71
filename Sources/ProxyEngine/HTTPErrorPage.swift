import NIOCore

/// The short responses the engine writes itself when no server can answer or a request is refused, in the
/// manner of HAProxy's: a status line, `Connection: close` (unless the connection stays open) and a
/// one-line HTML body.
enum HTTPErrorPage {
    /// The whole response for `status` (its code and reason phrase), explaining `detail`; without its body
    /// for a `HEAD` request.
    static func response(
        status: Int,
        reason: String,
        detail: String,
        extraHeader: String = "",
        closing: Bool = true,
        announceClose: Bool = true,
        minorVersion: Int,
        withBody: Bool,
        allocator: ByteBufferAllocator
    ) -> ByteBuffer {
        let body = "<html><body><h1>\(status) \(reason)</h1>\n\(escape(detail))\n</body></html>\n"
        var out = allocator.buffer(capacity: 256 + body.utf8.count)
        out.writeString(minorVersion == 0 ? "HTTP/1.0 " : "HTTP/1.1 ")
        out.writeString("\(status) \(reason)\r\n")
        out.writeString("content-type: text/html\r\ncontent-length: \(body.utf8.count)\r\n")
        out.writeString("cache-control: no-cache\r\n\(extraHeader)")
        if closing {
            if announceClose { out.writeString("connection: close\r\n") }
        } else if minorVersion == 0 {
            out.writeString("connection: keep-alive\r\n")
        }
        out.writeString("\r\n")
        if withBody { out.writeString(body) }
        return out
    }

    /// The reason phrase the engine writes for the statuses it answers itself.
    static func reason(_ status: Int) -> String {
        switch status {
        case 400: return "Bad Request"
        case 401: return "Unauthorized"
        case 405: return "Method Not Allowed"
        case 408: return "Request Timeout"
        case 501: return "Not Implemented"
        case 502: return "Bad Gateway"
        case 503: return "Service Unavailable"
        case 504: return "Gateway Timeout"
        case 505: return "HTTP Version Not Supported"
        default: return "Error"
        }
    }

    /// Text made safe for HTML.
    static func escape(_ text: String) -> String {
        var result = ""
        for character in text {
            switch character {
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            case "&": result += "&amp;"
            case "\"": result += "&quot;"
            default: result.append(character)
            }
        }
        return result
    }
}
