import NIOCore
import NIOHTTP1

/// The short responses the engine writes itself when no server can answer or a request is refused, in the
/// manner of HAProxy's: a status line, `Connection: close` and a one-line HTML body.
enum HTTPErrorPage {
    /// The head and body for `status`, explaining `detail`.
    static func response(
        _ status: HTTPResponseStatus,
        detail: String,
        version: HTTPVersion,
        allocator: ByteBufferAllocator
    ) -> (HTTPResponseHead, ByteBuffer) {
        let text =
            "<html><body><h1>\(status.code) \(status.reasonPhrase)</h1>\n\(escape(detail))\n</body></html>\n"
        let body = allocator.buffer(string: text)
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: "text/html")
        headers.add(name: "content-length", value: "\(body.readableBytes)")
        headers.add(name: "cache-control", value: "no-cache")
        headers.add(name: "connection", value: "close")
        return (
            HTTPResponseHead(version: version.minor == 0 ? .http1_0 : .http1_1, status: status, headers: headers), body
        )
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
