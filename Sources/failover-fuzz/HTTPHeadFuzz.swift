import NIOCore
import NIOEmbedded
import NIOHTTP1
import ProxyEngine

/// The `httphead` target: client bytes through the engine's request path up to what it would send a server.
/// The bytes are decoded as the frontend decodes them (NIOHTTP1, the engine's limits); each head the rules
/// accept is turned into the upstream request, encoded as the upstream connection encodes it, and decoded
/// again. The forwarded request must be exactly one request with the same method, target, headers and body
/// framing, none of the hop-by-hop headers, and acceptable to the rules itself: anything else is a way to
/// make the engine and a server disagree about where a request ends (request smuggling).
enum HTTPHeadFuzz {
    static func run(_ bytes: [UInt8]) {
        for head in decodedHeads(bytes) where HTTPMessageRules.rejection(of: head) == nil {
            check(head)
        }
    }

    private static func check(_ head: HTTPRequestHead) {
        let upstream = HTTPMessageRules.upstreamRequest(
            head,
            clientAddress: "192.0.2.50",
            forwardFor: true,
            removeCookie: "SRV",
            serverAuthority: "198.51.100.1:8080"
        )
        precondition(HTTPMessageRules.rejection(of: upstream) == nil, "a forwarded request is refused by the rules")
        precondition(
            HTTPMessageRules.hasBody(upstream) == HTTPMessageRules.hasBody(head),
            "forwarding changed whether the request has a body"
        )
        precondition(
            upstream.headers["content-length"] == head.headers["content-length"]
                && upstream.headers.contains(name: "transfer-encoding")
                    == head.headers.contains(name: "transfer-encoding"),
            "forwarding changed the body framing"
        )
        for name in HTTPMessageRules.hopByHop where name != "transfer-encoding" {
            precondition(!upstream.headers.contains(name: name), "hop-by-hop header \(name) forwarded")
        }
        let again = decodedHeads(encoded(upstream))
        precondition(again.count == 1, "the forwarded bytes decode as \(again.count) requests")
        let decoded = again[0]
        precondition(
            decoded.method == upstream.method && decoded.uri == upstream.uri && decoded.version == .http1_1,
            "the forwarded request line changed"
        )
        precondition(
            fields(decoded.headers) == fields(upstream.headers),
            "the forwarded headers decode differently: \(fields(decoded.headers)) instead of \(fields(upstream.headers))"
        )
    }

    /// The heads a client's bytes decode to, in order, until the decoder refuses the rest.
    private static func decodedHeads(_ bytes: [UInt8]) -> [HTTPRequestHead] {
        let channel = EmbeddedChannel(
            handler: ByteToMessageHandler(HTTPRequestDecoder(limitConfiguration: HTTPMessageRules.decoderLimits))
        )
        defer { _ = try? channel.finish() }
        do {
            try channel.writeInbound(channel.allocator.buffer(bytes: bytes))
        } catch {
            // The decoder refused the bytes from here on; the engine answers 400 and closes.
        }
        var heads: [HTTPRequestHead] = []
        while let part = try? channel.readInbound(as: HTTPServerRequestPart.self) {
            if case .head(let head) = part { heads.append(head) }
        }
        return heads
    }

    /// The bytes the upstream connection's encoder writes for `head`.
    private static func encoded(_ head: HTTPRequestHead) -> [UInt8] {
        let channel = EmbeddedChannel(
            handler: HTTPRequestEncoder(configuration: HTTPMessageRules.upstreamEncoderConfiguration)
        )
        defer { _ = try? channel.finish() }
        _ = try? channel.writeOutbound(HTTPClientRequestPart.head(head))
        var bytes: [UInt8] = []
        while var buffer = try? channel.readOutbound(as: ByteBuffer.self) {
            bytes += buffer.readBytes(length: buffer.readableBytes) ?? []
        }
        return bytes
    }

    /// Each header name's values in order (the encoder moves the framing headers to the end; the order of
    /// different names carries no meaning).
    private static func fields(_ headers: HTTPHeaders) -> [String: [String]] {
        var fields: [String: [String]] = [:]
        for (name, value) in headers { fields[name.lowercased(), default: []].append(value) }
        return fields
    }
}
