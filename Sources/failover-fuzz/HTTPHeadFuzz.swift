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
///
/// Inputs that start with `HTTP/` are server responses instead (``checkResponse(_:)``): parsed and framed as the
/// engine does, rewritten for the client, and read back by llhttp as the client would.
enum HTTPHeadFuzz {
    static func run(_ bytes: [UInt8]) {
        if bytes.starts(with: Array("HTTP/".utf8)) {
            checkResponse(bytes)
            return
        }
        var buffer = ByteBuffer(bytes: bytes)
        var head = HTTPHead()
        for _ in 0..<8 where buffer.readableBytes > 0 {
            guard let length = try? HTTPHeadParser.parseRequest(buffer, into: &head) else { return }
            buffer.moveReaderIndex(forwardBy: length)
            guard let (consumed, payload, complete) = frame(buffer, head.requestFraming) else { return }
            let body = buffer.readSlice(length: consumed)!
            check(head, body: body, payload: payload, complete: complete)
            if !complete { return }
        }
    }

    /// The engine's framing of the body at the start of `buffer`: how many bytes belong to it, its data (without
    /// chunk framing) and whether it is complete; nil when the framer refuses it (the engine would too).
    private static func frame(
        _ buffer: ByteBuffer,
        _ framing: HTTPHead.Framing
    ) -> (consumed: Int, payload: [UInt8], complete: Bool)? {
        var framer = HTTPBodyFramer(framing)
        var payload: [UInt8] = []
        guard
            let consumed = try? buffer.withUnsafeReadableBytes({ raw in
                try framer.consume(raw) { payload += raw[$0] }
            })
        else { return nil }
        return (consumed, payload, framer.isComplete)
    }

    private static func check(_ head: HTTPHead, body: ByteBuffer, payload: [UInt8], complete: Bool) {
        var forwarded = ByteBuffer()
        HTTPMessageRules.writeUpstreamRequest(
            head,
            into: &forwarded,
            clientAddress: "192.0.2.50",
            forwardFor: "x-forwarded-for",
            removeCookie: "SRV"
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
            require(error == .tooLarge && nearLimits, "the forwarded head is refused by the engine's parser")
            return
        }
        require(length == forwarded.readableBytes, "the forwarded head does not parse to its own length")
        require(
            again.string(again.method) == head.string(head.method)
                && again.string(again.target) == head.string(head.target)
                && again.minorVersion == head.minorVersion,
            "the forwarded request line changed"
        )
        require(again.requestFraming == head.requestFraming, "forwarding changed the body framing")
        require(
            again.values(.contentLength).count + again.values(.transferEncoding).count <= 1,
            "more than one framing header forwarded"
        )
        // The only hop-by-hop field is the engine's own `connection: keep-alive` on an HTTP/1.0 request.
        let hopByHop = again.fields.filter { $0.kind.isHopByHop }
        require(
            hopByHop.isEmpty
                || (head.minorVersion == 0 && hopByHop.count == 1 && again.string(hopByHop[0].value) == "keep-alive"),
            "a hop-by-hop header was forwarded"
        )
        let others = again.values(.other)
        require(
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
        let refused = (try? channel.writeInbound(wire)) == nil
        let reading = read(channel, HTTPRequestHead.self, who: "a server")
        check(reading, refused: refused, payload: payload, complete: complete, endsWithClose: false, who: "a server")
    }

    /// A server's bytes through the engine's response path. The input's length picks the request (GET or
    /// HEAD) and the client's version (1.1, or 1.0, which gets chunked bodies without their chunking). The
    /// client's bytes must parse again with the engine's parser, and llhttp reading them as the client must
    /// see one response with the same status and the body the engine framed, ending where the engine says.
    private static func checkResponse(_ bytes: [UInt8]) {
        let isHEAD = bytes.count % 2 == 1
        let minor = bytes.count % 4 < 2 ? 1 : 0
        var buffer = ByteBuffer(bytes: bytes)
        var head = HTTPHead()
        while true {
            guard let length = try? HTTPHeadParser.parseResponse(buffer, into: &head) else { return }
            buffer.moveReaderIndex(forwardBy: length)
            if head.status == 101 { return }
            if head.status >= 200 { break }
        }
        let framing = head.responseFraming(requestIsHEAD: isHEAD)
        // A body that ends with the connection cannot be misread by the client: nothing follows it.
        if framing == .untilClose { return }
        let dechunk = framing == .chunked && minor == 0
        var out = ByteBuffer()
        HTTPMessageRules.writeClientResponse(
            head,
            into: &out,
            clientMinorVersion: minor,
            keepAlive: !dechunk,
            dechunk: dechunk,
            setCookie: "SRV=a; path=/",
            nocache: true
        )
        var again = HTTPHead()
        do {
            let length = try HTTPHeadParser.parseResponse(out, into: &again)
            require(length == out.readableBytes, "the client's response head does not parse to its own length")
            require(again.status == head.status, "the status changed")
        } catch {
            // The engine adds up to three lines (Connection, Set-Cookie, Cache-Control): a head at the limits
            // may pass them once rewritten (clients have no such limit).
            let nearLimits =
                head.fields.count > HTTPHeadParser.maxFields - 3 || out.readableBytes >= HTTPHeadParser.maxHeadSize
            require(error == .tooLarge && nearLimits, "the client's response head is refused: \(error)")
            return
        }
        guard let (consumed, payload, complete) = frame(buffer, framing) else { return }
        if dechunk {
            out.writeBytes(payload)
        } else {
            out.writeBytes(buffer.readableBytesView.prefix(consumed))
        }
        clientReading(
            out,
            isHEAD: isHEAD,
            minor: minor,
            status: head.status,
            payload: payload,
            complete: complete,
            endsWithClose: dechunk
        )
    }

    /// What llhttp, as the client, makes of the engine's response bytes.
    private static func clientReading(
        _ wire: ByteBuffer,
        isHEAD: Bool,
        minor: Int,
        status: Int,
        payload: [UInt8],
        complete: Bool,
        endsWithClose: Bool
    ) {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(HTTPResponseDecoder()))
        defer { _ = try? channel.finish() }
        let request = HTTPRequestHead(
            version: minor == 0 ? .http1_0 : .http1_1,
            method: isHEAD ? .HEAD : .GET,
            uri: "/"
        )
        _ = try? channel.writeOutbound(HTTPClientRequestPart.head(request))
        var refused = false
        do {
            try channel.writeInbound(wire)
            if endsWithClose && complete { channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed) }
        } catch {
            refused = true
        }
        let reading = read(channel, HTTPResponseHead.self, who: "the client")
        if let response = reading.heads.first {
            require(Int(response.status.code) == status, "the client reads another status")
        }
        check(
            reading,
            refused: refused,
            payload: payload,
            complete: complete,
            endsWithClose: endsWithClose,
            who: "the client"
        )
    }

    /// What llhttp read: the heads, whether a message ended, and the body bytes.
    private struct Reading<Head> {
        var heads: [Head] = []
        var ended = false
        var body: [UInt8] = []
    }

    /// Reads what llhttp decoded in `channel`; a head after an end (a second message where the engine sent
    /// one) fails.
    private static func read<Head: Equatable>(_ channel: EmbeddedChannel, _: Head.Type, who: String) -> Reading<Head> {
        var reading = Reading<Head>()
        while let part = try? channel.readInbound(as: HTTPPart<Head, ByteBuffer>.self) {
            switch part {
            case .head(let head):
                require(!reading.ended, "\(who) reads a second message in the engine's bytes")
                reading.heads.append(head)
            case .body(var bytes):
                reading.body += bytes.readBytes(length: bytes.readableBytes) ?? []
            case .end:
                reading.ended = true
            }
        }
        require(reading.heads.count <= 1, "\(who) reads \(reading.heads.count) messages in the engine's bytes")
        return reading
    }

    /// Unless llhttp refused the bytes: a message the engine considers complete is complete for llhttp too,
    /// with the same body, and one it is still reading is not (unless it ends with the connection).
    private static func check<Head>(
        _ reading: Reading<Head>,
        refused: Bool,
        payload: [UInt8],
        complete: Bool,
        endsWithClose: Bool,
        who: String
    ) {
        if refused { return }
        if complete {
            require(reading.ended, "\(who) waits for more of a message the engine considers complete")
            require(reading.body == payload, "\(who) reads a different body")
        } else if !endsWithClose {
            require(!reading.ended, "\(who) considers complete a message the engine is still reading")
        }
    }
}

/// `precondition` that says why, also in release builds (where `precondition` drops its message), so a crash
/// found by libFuzzer names the property it broke.
private func require(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { fatalError(message()) }
}
