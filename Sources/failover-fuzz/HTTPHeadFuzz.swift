import NIOCore
import NIOEmbedded
import NIOHTTP1
import ProxyEngine

/// The `httphead` target: client bytes through the engine's request path up to what it would send a server,
/// request after request as on a keep-alive connection. Each head the engine's parser accepts is rewritten
/// as the engine rewrites it, its body framed as the engine frames it, and then:
/// - the rewritten head must parse again to the same request line and fields, with one framing header that
///   says the same, and no hop-by-hop header;
/// - a second, independent parser (llhttp, through NIOHTTP1, standing in for a server) reading the forwarded
///   bytes must either refuse them or see exactly one request, with the body the engine saw, ending exactly
///   where the engine says it ends. Any other reading is a way to make the engine and a server disagree
///   about where a request ends (request smuggling).
enum HTTPHeadFuzz {
    static func run(_ bytes: [UInt8]) {
        var buffer = ByteBuffer(bytes: bytes)
        var head = HTTPHead()
        for _ in 0..<8 where buffer.readableBytes > 0 {
            guard let length = try? HTTPHeadParser.parseRequest(buffer, into: &head) else { return }
            buffer.moveReaderIndex(forwardBy: length)
            var framer = HTTPBodyFramer(head.requestFraming)
            var payload: [UInt8] = []
            let consumed: Int
            do {
                consumed = try buffer.withUnsafeReadableBytes { raw in
                    try framer.consume(raw) { payload += raw[$0] }
                }
            } catch {
                return
            }
            let body = buffer.readSlice(length: consumed)!
            check(head, body: body, payload: payload, complete: framer.isComplete)
            if !framer.isComplete { return }
        }
    }

    private static func check(_ head: HTTPHead, body: ByteBuffer, payload: [UInt8], complete: Bool) {
        var forwarded = ByteBuffer()
        HTTPMessageRules.writeUpstreamRequest(
            head,
            into: &forwarded,
            clientAddress: "192.0.2.50",
            forwardFor: true,
            removeCookie: "SRV",
            serverAuthority: "198.51.100.1:8080"
        )
        var again = HTTPHead()
        let length: Int?
        do {
            length = try HTTPHeadParser.parseRequest(forwarded, into: &again)
        } catch {
            // The engine adds up to two lines (X-Forwarded-For, Host): a head at the client limits may pass
            // them once forwarded.
            let nearLimits =
                head.fields.count > HTTPHeadParser.maxFields - 2
                || forwarded.readableBytes >= HTTPHeadParser.maxHeadSize
            precondition(error == .tooLarge && nearLimits, "the forwarded head is refused by the engine's parser")
            return
        }
        precondition(length == forwarded.readableBytes, "the forwarded head does not parse to its own length")
        precondition(
            again.string(again.method) == head.string(head.method)
                && again.string(again.target) == head.string(head.target)
                && again.minorVersion == 1,
            "the forwarded request line changed"
        )
        precondition(again.requestFraming == head.requestFraming, "forwarding changed the body framing")
        precondition(
            again.values(.contentLength).count + again.values(.transferEncoding).count <= 1,
            "more than one framing header forwarded"
        )
        precondition(!again.fields.contains { $0.kind.isHopByHop }, "a hop-by-hop header was forwarded")
        let others = again.values(.other)
        precondition(
            others.last == "192.0.2.50" && Array(others.dropLast()) == head.values(.other),
            "the end-to-end headers changed"
        )

        var wire = forwarded
        var bodyBytes = body
        wire.writeBuffer(&bodyBytes)
        serverReading(wire, payload: payload, complete: complete)
    }

    /// What llhttp makes of the forwarded bytes.
    private static func serverReading(_ wire: ByteBuffer, payload: [UInt8], complete: Bool) {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(HTTPRequestDecoder()))
        defer { _ = try? channel.finish() }
        var refused = false
        do {
            try channel.writeInbound(wire)
        } catch {
            refused = true
        }
        var heads = 0
        var ended = false
        var seen: [UInt8] = []
        while let part = try? channel.readInbound(as: HTTPServerRequestPart.self) {
            switch part {
            case .head:
                precondition(!ended, "a server reads a second request in the forwarded bytes")
                heads += 1
            case .body(var bytes):
                seen += bytes.readBytes(length: bytes.readableBytes) ?? []
            case .end:
                ended = true
            }
        }
        precondition(heads <= 1, "a server reads \(heads) requests in the forwarded bytes")
        if refused { return }
        if complete {
            precondition(ended, "a server waits for more of a request the engine considers complete")
            precondition(seen == payload, "a server reads a different body")
        } else {
            precondition(!ended, "a server considers complete a request the engine is still reading")
        }
    }
}
