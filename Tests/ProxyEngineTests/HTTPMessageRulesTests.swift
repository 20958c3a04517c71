import NIOCore
import ProxyEngine
import Testing

/// Parses `text` as a request head (it must be complete).
private func request(_ text: String) throws -> HTTPHead {
    var head = HTTPHead()
    let length = try HTTPHeadParser.parseRequest(ByteBuffer(string: text), into: &head)
    #expect(length == text.utf8.count)
    return head
}

/// Parses `text` as a response head (it must be complete).
private func response(_ text: String) throws -> HTTPHead {
    var head = HTTPHead()
    let length = try HTTPHeadParser.parseResponse(ByteBuffer(string: text), into: &head)
    #expect(length == text.utf8.count)
    return head
}

/// The error parsing `text` as a request gives, or nil when it parses (or is incomplete).
private func refusal(_ text: String) -> HTTPHeadError? {
    var head = HTTPHead()
    do {
        _ = try HTTPHeadParser.parseRequest(ByteBuffer(string: text), into: &head)
        return nil
    } catch {
        return error
    }
}

private func upstream(_ head: HTTPHead, forwardFor: Bool = false, removeCookie: String? = nil) -> String {
    var out = ByteBuffer()
    HTTPMessageRules.writeUpstreamRequest(
        head,
        into: &out,
        clientAddress: "192.0.2.50",
        forwardFor: forwardFor ? "x-forwarded-for" : nil,
        removeCookie: removeCookie
    )
    return String(buffer: out)
}

/// Feeds `text` to a framer for `framing`; returns the bytes consumed and the data bytes seen.
private func frame(_ framing: HTTPHead.Framing, _ text: String) throws -> (Int, String) {
    var framer = HTTPBodyFramer(framing)
    var data = ""
    let bytes = Array(text.utf8)
    let consumed = try bytes.withUnsafeBytes { raw in
        try framer.consume(raw) { range in data += String(decoding: raw[range], as: UTF8.self) }
    }
    return (framer.isComplete ? consumed : -1, data)
}

@Suite("HTTP heads, framing and forwarding rules")
struct HTTPMessageRulesTests {
    @Test("hop-by-hop headers go in any case, with those Connection names and Expect; the others keep their order")
    func stripHopByHop() throws {
        let head = try request(
            "GET /a?b HTTP/1.1\r\nHost: a\r\nCONNECTION: Keep-Alive, X-Trace\r\nx-trace: 1\r\nKeep-Alive: timeout=5\r\n"
                + "User-Agent: curl\r\nTE: trailers\r\nUpgrade: h2c\r\nProxy-Authorization: Basic eA==\r\n"
                + "Expect: 100-continue\r\nAccept: */*\r\n\r\n"
        )
        #expect(head.expectsContinue)
        #expect(upstream(head) == "GET /a?b HTTP/1.1\r\nHost: a\r\nUser-Agent: curl\r\nAccept: */*\r\n\r\n")
    }

    @Test("Connection cannot name the framing headers or Host away")
    func connectionCannotDropFraming() throws {
        let head = try request(
            "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nConnection: content-length, host, close\r\n\r\n"
        )
        #expect(upstream(head) == "POST / HTTP/1.1\r\nHost: a\r\ncontent-length: 5\r\n\r\n")
        #expect(!head.keepsAlive)
    }

    @Test("keep-alive follows the version and the Connection tokens, in any case and spacing")
    func keepsAlive() throws {
        func keeps(_ version: String, _ values: [String]) throws -> Bool {
            let lines = values.map { "Connection: \($0)\r\n" }.joined()
            return try request("GET / HTTP/\(version)\r\nHost: a\r\n\(lines)\r\n").keepsAlive
        }
        #expect(try keeps("1.1", []))
        #expect(try !keeps("1.1", ["x-trace, CLOSE "]))
        #expect(try !keeps("1.1", ["keep-alive", "\tclose"]))
        #expect(try keeps("1.1", ["closed"]))
        #expect(try !keeps("1.0", []))
        #expect(try keeps("1.0", ["Keep-Alive"]))
        #expect(try !keeps("1.0", [",,"]))
        #expect(try !keeps("1.0", ["keep-alive, close"]))
    }

    @Test("the upstream request: one framing header, X-Forwarded-For; HTTP/1.0 stays 1.0 with keep-alive, as HAProxy")
    func upstreamRequest() throws {
        let head = try request(
            "POST /x HTTP/1.0\r\nContent-Length: 5, 5\r\nConnection: keep-alive\r\nCookie: SRV=a; s=1\r\n\r\n"
        )
        #expect(head.requestFraming == .length(5))
        #expect(
            upstream(head, forwardFor: true, removeCookie: "SRV")
                == "POST /x HTTP/1.0\r\ncontent-length: 5\r\nCookie: s=1\r\nx-forwarded-for: 192.0.2.50\r\n"
                + "connection: keep-alive\r\n\r\n"
        )
        let chunked = try request("PUT / HTTP/1.1\r\nHost: a\r\ntransfer-encoding:  Chunked \r\n\r\n")
        #expect(chunked.requestFraming == .chunked)
        #expect(upstream(chunked) == "PUT / HTTP/1.1\r\nHost: a\r\ntransfer-encoding: chunked\r\n\r\n")
    }

    @Test("lenient where it is safe: LF line ends, empty lines before the request line, identical lengths")
    func accepted() throws {
        let head = try request("\r\nGET / HTTP/1.1\nHost: a\nX-A:b\n\n")
        #expect(head.values(.other) == ["b"])
        #expect(head.string(head.target) == "/")
        #expect(try request("GET / HTTP/1.0\r\n\r\n").hostCount == 0)
        var partial = HTTPHead()
        #expect(
            try HTTPHeadParser.parseRequest(ByteBuffer(string: "GET / HTTP/1.1\r\nHost: a\r\n"), into: &partial) == nil
        )
    }

    @Test("ambiguous or malformed heads are refused with the status HAProxy gives")
    func refused() {
        let malformed: [String] = [
            "GET / HTTP/1.1\r\nHost : a\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\u{0}\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 6\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: ,\r\n\r\n",
            "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
            "GET / HTTP/1.1\r\n\r\n",
            "GET /a b HTTP/1.1\r\nHost: a\r\n\r\n",
            "GET  / HTTP/1.1\r\nHost: a\r\n\r\n",
            "GET / HTTP/1.1 \r\nHost: a\r\n\r\n",
            "GET / http/1.1\r\nHost: a\r\n\r\n",
            "G@T / HTTP/1.1\r\nHost: a\r\n\r\n",
            "GET / HTTP/1.1\r\n: a\r\n\r\n",
        ]
        for text in malformed {
            guard case .malformed = refusal(text) else {
                Issue.record("not refused as malformed: \(text.debugDescription)")
                continue
            }
        }
        #expect(refusal("GET / HTTP/2.0\r\nHost: a\r\n\r\n") == .unsupportedVersion)
        #expect(refusal("GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n")?.status == 501)
        #expect(refusal("CONNECT a:443 HTTP/1.1\r\nHost: a\r\n\r\n")?.status == 501)
        let many = (0...HTTPHeadParser.maxFields).map { "X-\($0): 1\r\n" }.joined()
        #expect(refusal("GET / HTTP/1.1\r\nHost: a\r\n\(many)\r\n") == .tooLarge)
        let long = String(repeating: "a", count: HTTPHeadParser.maxHeadSize)
        #expect(refusal("GET / HTTP/1.1\r\nHost: a\r\nX: \(long)") == .tooLarge)
    }

    @Test("chunked bodies end exactly at the last chunk and its trailers; data is told apart from framing")
    func chunkedFraming() throws {
        let body = "5;ext=1\r\nhello\r\n0A \r\n0123456789\r\n0\r\nX-Sum: 1\r\n\r\n"
        #expect(try frame(.chunked, body + "GET /") == (body.utf8.count, "hello0123456789"))
        #expect(try frame(.length(3), "abcdef") == (3, "abc"))
        #expect(try frame(.none, "abc") == (0, ""))
        #expect(try frame(.chunked, "5\r\nhel").0 == -1)
        let trailers = "0\r\nX-T:v\r\nX-U: a\tb\r\nX-E:\r\n\r\n"
        #expect(try frame(.chunked, trailers).0 == trailers.utf8.count)
        let invalid = [
            "5\nhello\r\n0\r\n\r\n", "g\r\n", "1234567890abcdef0\r\n", "3\r\nhello\r\n", "0\r\nX: 1\n\r\n",
            "\r\n", "5 x\r\n", "0\r\nX:\u{1}\r\n\r\n", "1;" + String(repeating: "a", count: 5000),
            // Trailers are header fields (HAProxy 2.6 answers 400 to each of these).
            "0\r\nNoColon\r\n\r\n", "0\r\nBad Name: v\r\n\r\n", "0\r\n folded\r\n\r\n", "0\r\n:empty\r\n\r\n",
            "0\r\nX-T : v\r\n\r\n", "0\r\nX@T: v\r\n\r\n", "0\r\nX-A: 1\r\n\tfolded\r\n\r\n",
        ]
        for text in invalid {
            #expect(throws: HTTPFramingError.self, "\(text.debugDescription)") { _ = try frame(.chunked, text) }
        }
    }

    @Test("response framing follows RFC 9112 §6.3")
    func responseFraming() throws {
        let ok = try response("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n")
        #expect(ok.responseFraming(requestIsHEAD: false) == .length(10))
        #expect(ok.responseFraming(requestIsHEAD: true) == .none)
        #expect(try response("HTTP/1.1 204 No Content\r\n\r\n").responseFraming(requestIsHEAD: false) == .none)
        #expect(
            try response("HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n").responseFraming(requestIsHEAD: false)
                == .none
        )
        let both = try response("HTTP/1.1 200 OK\r\nContent-Length: 9\r\nTransfer-Encoding: chunked\r\n\r\n")
        #expect(both.responseFraming(requestIsHEAD: false) == .chunked)
        #expect(!HTTPMessageRules.serverKeepsAlive(both, framing: .chunked))
        let open = try response("HTTP/1.0 200 OK\r\n\r\n")
        #expect(open.responseFraming(requestIsHEAD: false) == .untilClose)
        #expect(try response("HTTP/1.1 200\r\n\r\n").status == 200)
    }

    @Test("a 204 or 1xx loses its framing headers, a 304 keeps its length (as HAProxy 2.6)")
    func bodilessResponses() throws {
        func written(_ text: String) throws -> String {
            var out = ByteBuffer()
            HTTPMessageRules.writeClientResponse(
                try response(text),
                into: &out,
                clientMinorVersion: 1,
                keepAlive: true,
                dechunk: false,
                setCookie: nil,
                nocache: false
            )
            return String(buffer: out)
        }
        #expect(
            try written("HTTP/1.1 204 No Content\r\nContent-Length: 0\r\nX-A: 1\r\n\r\n")
                == "HTTP/1.1 204 No Content\r\nX-A: 1\r\n\r\n"
        )
        #expect(
            try written("HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\n\r\n")
                == "HTTP/1.1 204 No Content\r\n\r\n"
        )
        #expect(
            try written("HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n")
                == "HTTP/1.1 304 Not Modified\r\ncontent-length: 10\r\n\r\n"
        )
    }

    @Test("the client's response: its version, no hop-by-hop headers, chunking taken off for HTTP/1.0")
    func clientResponse() throws {
        let head = try response(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\nTrailer: X\r\nX-A: 1\r\n"
                + "Cache-Control: max-age=60\r\n\r\n"
        )
        var out = ByteBuffer()
        HTTPMessageRules.writeClientResponse(
            head,
            into: &out,
            clientMinorVersion: 0,
            keepAlive: false,
            dechunk: true,
            setCookie: "SRV=b; path=/",
            nocache: true
        )
        #expect(
            String(buffer: out)
                == "HTTP/1.0 200 OK\r\nX-A: 1\r\nconnection: close\r\nset-cookie: SRV=b; path=/\r\n"
                + "cache-control: private\r\n\r\n"
        )
        #expect(
            HTTPMessageRules.cookie("SRV", in: try request("GET / HTTP/1.1\r\nHost: a\r\nCookie: a=1; SRV=b\r\n\r\n"))
                == "b"
        )
    }

    @Test("an HTTP/1.0 client's Expect is ignored; absolute-form targets route by their own host and path")
    func expectAndAbsoluteForm() throws {
        #expect(try !request("POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n").expectsContinue)
        #expect(try request("POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\n\r\n").expectsContinue)
        let absolute = try request("GET http://admin.internal/admin?x HTTP/1.1\r\nHost: Admin.Internal:80\r\n\r\n")
        #expect(absolute.absoluteForm?.authority == "admin.internal")
        #expect(absolute.absoluteForm?.path == "/admin?x")
        #expect(try request("GET HTTPS://b:443?q HTTP/1.1\r\nHost: b\r\n\r\n").absoluteForm?.path == "/?q")
        // A Host naming another site than the target is refused, as HAProxy does (it was forwarded as sent).
        #expect(throws: HTTPHeadError.self) {
            try request("GET http://www.example.com/ HTTP/1.1\r\nHost: admin.example.com\r\n\r\n")
        }
        #expect(try request("GET /x HTTP/1.1\r\nHost: www\r\n\r\n").absoluteForm == nil)
    }

    @Test("a slow head is parsed again only once an empty line may have arrived")
    func headEnd() {
        #expect(!HTTPHeadParser.mayHoldHeadEnd(ByteBuffer(string: "GET / HTTP/1.1\r\nHost: a\r\n"), from: 0))
        #expect(HTTPHeadParser.mayHoldHeadEnd(ByteBuffer(string: "GET / HTTP/1.1\r\nHost: a\r\n\r\n"), from: 20))
        #expect(HTTPHeadParser.mayHoldHeadEnd(ByteBuffer(string: "GET / HTTP/1.1\nHost: a\n\n"), from: 22))
        #expect(!HTTPHeadParser.mayHoldHeadEnd(ByteBuffer(string: "GET / HTTP/1.1\r\nHost: a\r\n\r\n"), from: 27))
    }

    @Test("cookies are split on bytes: a character that looks like ';' is not a separator")
    func cookieBytes() throws {
        let head = try request("GET / HTTP/1.1\r\nHost: a\r\nCookie: SRV\u{37E}x=1;SRV = b ; t=\u{FF}\r\n\r\n")
        #expect(HTTPMessageRules.cookie("SRV", in: head) == "b")
        #expect(
            upstream(head, removeCookie: "SRV")
                == "GET / HTTP/1.1\r\nHost: a\r\nCookie: SRV\u{37E}x=1; t=\u{FF}\r\n\r\n"
        )
    }
}
