import NIOHTTP1
import ProxyEngine
import Testing

@Suite("HTTP message rules")
struct HTTPMessageRulesTests {
    @Test("hop-by-hop headers go in any case, with those Connection names; the others keep their order")
    func stripHopByHop() {
        var headers = HTTPHeaders([
            ("Host", "a"), ("CONNECTION", "Keep-Alive, X-Trace"), ("x-trace", "1"), ("Keep-Alive", "timeout=5"),
            ("User-Agent", "curl"), ("TE", "trailers"), ("Transfer-Encoding", "chunked"), ("Upgrade", "h2c"),
            ("Proxy-Authorization", "Basic eA=="), ("Expect", "100-continue"), ("Accept", "*/*"),
        ])
        HTTPMessageRules.stripHopByHop(&headers, also: "expect")
        #expect(headers.map { "\($0.name): \($0.value)" } == ["Host: a", "User-Agent: curl", "Accept: */*"])
    }

    @Test("keep-alive follows the version and the Connection tokens, in any case and spacing")
    func keepsAlive() {
        func keeps(_ version: HTTPVersion, _ values: [String]) -> Bool {
            HTTPMessageRules.keepsAlive(version, HTTPHeaders(values.map { ("Connection", $0) }))
        }
        #expect(keeps(.http1_1, []))
        #expect(!keeps(.http1_1, ["x-trace, CLOSE "]))
        #expect(!keeps(.http1_1, ["keep-alive", "\tclose"]))
        #expect(keeps(.http1_1, ["closed"]))
        #expect(!keeps(.http1_0, []))
        #expect(keeps(.http1_0, ["Keep-Alive"]))
        #expect(!keeps(.http1_0, [",,"]))
    }

    @Test("nothing to remove: the headers are left as they are")
    func nothingToStrip() {
        let original = HTTPHeaders([("Host", "a"), ("User-Agent", "wrk"), ("Content-Length", "5")])
        var headers = original
        HTTPMessageRules.stripHopByHop(&headers)
        #expect(headers == original)
    }

    @Test("the upstream request keeps the body framing, adds X-Forwarded-For and a Host for HTTP/1.0")
    func upstreamRequest() {
        let head = HTTPRequestHead(
            version: .http1_0,
            method: .POST,
            uri: "/x",
            headers: HTTPHeaders([("Content-Length", "5"), ("Connection", "keep-alive"), ("Cookie", "SRV=a; s=1")])
        )
        let upstream = HTTPMessageRules.upstreamRequest(
            head,
            clientAddress: "192.0.2.50",
            forwardFor: true,
            removeCookie: "SRV",
            serverAuthority: "127.0.0.1:8081"
        )
        #expect(upstream.version == .http1_1)
        #expect(upstream.headers["content-length"] == ["5"])
        #expect(upstream.headers["connection"].isEmpty)
        #expect(upstream.headers["x-forwarded-for"] == ["192.0.2.50"])
        #expect(upstream.headers["cookie"] == ["s=1"])
        #expect(upstream.headers["host"] == ["127.0.0.1:8081"])
        #expect(HTTPMessageRules.rejection(of: upstream) == nil)
    }
}
