import NIOCore
import ProxyEngine
import Testing

@Suite("HTTP request reader: client bytes in, requests out one at a time")
struct HTTPRequestReaderTests {
    private func feed(_ reader: inout HTTPRequestReader, _ text: String) {
        var bytes = ByteBuffer(string: text)
        reader.append(&bytes)
    }

    private func body(_ reader: inout HTTPRequestReader) -> String? {
        switch reader.nextBody() {
        case .none: return nil
        case .bytes(let bytes): return String(buffer: bytes)
        case .invalid(let reason): return "invalid \(reason)"
        }
    }

    @Test("a head sent a byte at a time is ready once whole; a GET has no body")
    func headByBytes() {
        var reader = HTTPRequestReader()
        let text = "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
        for (index, character) in text.enumerated() {
            feed(&reader, String(character))
            let outcome = reader.nextHead()
            #expect(outcome == (index == text.count - 1 ? .ready : .needMore))
        }
        #expect(reader.valid && reader.ended)
        #expect(reader.request.string(reader.request.target) == "/a")
        #expect(reader.pendingBytes == 0)
    }

    @Test("a body split over reads comes out as it arrives; the pipelined request behind it waits")
    func bodyAndPipelining() {
        var reader = HTTPRequestReader()
        feed(&reader, "POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhel")
        #expect(reader.nextHead() == .ready)
        #expect(!reader.ended)
        #expect(body(&reader) == "hel")
        feed(&reader, "loGET /next HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(body(&reader) == "lo")
        #expect(reader.ended)
        #expect(body(&reader) == nil)
        #expect(reader.nextHead() == .ready)
        #expect(reader.request.string(reader.request.target) == "/next")
    }

    @Test("a malformed trailer that came with the head is refused before any server; a later one as body")
    func malformedBody() {
        var early = HTTPRequestReader()
        feed(&early, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nNoColon\r\n\r\n")
        #expect(early.nextHead() == .malformedBody("a trailer line without a colon"))

        var late = HTTPRequestReader()
        feed(&late, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
        #expect(late.nextHead() == .ready)
        feed(&late, "3\r\nabc\r\n0\r\n folded\r\n\r\n")
        #expect(body(&late) == "invalid a folded trailer line (obs-fold)")
    }

    @Test("an invalid head gives the parser's error and status")
    func invalidHead() {
        var reader = HTTPRequestReader()
        feed(&reader, "GET / HTTP/1.1\r\nBad Header: 1\r\n\r\n")
        guard case .invalid(let error) = reader.nextHead() else {
            Issue.record("not refused")
            return
        }
        #expect(error.status == 400)
        #expect(!reader.valid)
    }
}
