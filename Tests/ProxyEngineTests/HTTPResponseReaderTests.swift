import NIOCore
import ProxyEngine
import Testing

/// What the reader says about server bytes, as text: `head 200 length(5)`, `body "hello"`, `end`, `invalid …`.
private func events(
    _ pieces: [String],
    requestIsHEAD: Bool = false,
    clientMinorVersion: Int = 1
) -> (events: [String], reader: HTTPResponseReader) {
    var reader = HTTPResponseReader()
    reader.start(requestIsHEAD: requestIsHEAD, clientMinorVersion: clientMinorVersion)
    var out: [String] = []
    for piece in pieces {
        reader.read(ByteBuffer(string: piece)) { event in
            switch event {
            case .head(let head, let framing, let dechunk):
                out.append("head \(head.status) \(framing)\(dechunk ? " dechunk" : "")")
            case .body(let body):
                out.append("body \(String(buffer: body).debugDescription)")
            case .end(let trailing):
                out.append(trailing ? "end trailing" : "end")
            case .invalid(let reason):
                out.append("invalid \(reason)")
            }
        }
    }
    return (out, reader)
}

@Suite("HTTP response reader: server bytes in, what to send out")
struct HTTPResponseReaderTests {
    @Test("a response with a length, whole or a byte at a time, ends exactly at its last byte")
    func lengthFramed() {
        let text = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"
        #expect(events([text]).events == ["head 200 length(5)", "body \"hello\"", "end"])
        let bytewise = events(text.map { String($0) }).events
        #expect(bytewise.first == "head 200 length(5)")
        #expect(bytewise.filter { $0.hasPrefix("body") }.count == 5)
        #expect(bytewise.last == "end")
    }

    @Test("interim responses are dropped; 101 without an Upgrade asked for is invalid")
    func interim() {
        let continued = events(["HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n"]).events
        #expect(continued == ["head 204 none", "end"])
        #expect(
            events(["HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n"]).events
                == ["invalid switched protocols without being asked"]
        )
    }

    @Test("chunked: passed as is to an HTTP/1.1 client, the chunking taken off for an HTTP/1.0 one")
    func chunked() {
        let text = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
        #expect(
            events([text]).events == [
                "head 200 chunked", "body \"3\\r\\nabc\\r\\n2\\r\\nde\\r\\n0\\r\\n\\r\\n\"", "end",
            ]
        )
        #expect(
            events([text], clientMinorVersion: 0).events == [
                "head 200 chunked dechunk", "body \"abc\"", "body \"de\"", "end",
            ]
        )
    }

    @Test("the answer to HEAD has no body whatever its length says; bytes after a response are reported")
    func headAndTrailing() {
        #expect(
            events(["HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n"], requestIsHEAD: true).events
                == ["head 200 none", "end"]
        )
        #expect(
            events(["HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n"]).events
                == ["head 200 length(2)", "body \"ok\"", "end trailing"]
        )
    }

    @Test("a body without a length ends with the server's connection")
    func untilClose() {
        let (out, reader) = events(["HTTP/1.0 200 OK\r\n\r\nsome", " more"])
        #expect(out == ["head 200 untilClose", "body \"some\"", "body \" more\""])
        #expect(reader.endsWithConnection)
    }

    @Test("invalid heads and invalid chunk framing are reported with their reason; a partial head waits")
    func invalid() {
        #expect(events(["NOT HTTP\r\n\r\n"]).events.first?.hasPrefix("invalid") == true)
        let badChunk = events(["HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"]).events
        #expect(badChunk == ["head 200 chunked", "invalid a chunk without a size"])
        let (partial, reader) = events(["HTTP/1.1 200 OK\r\nContent-"])
        #expect(partial.isEmpty)
        #expect(reader.hasPendingBytes)
    }
}
