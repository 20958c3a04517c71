import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

/// An HTTP server for the engine's tests, answering by path:
/// `/echo` sends the request body back with the headers the proxy forwarded (`x-seen-*`), `/close` closes
/// without answering, `/slow` answers after 1 s, `/chunked` answers in three chunks, anything else answers
/// the backend's name. Counts the connections it accepted.
final class HTTPBackend: Sendable {
    let name: String
    let channel: any Channel
    private let accepted: NIOLockedValueBox<[any Channel]>

    var connections: Int { accepted.withLockedValue { $0.count } }

    private init(name: String, channel: any Channel, accepted: NIOLockedValueBox<[any Channel]>) {
        self.name = name
        self.channel = channel
        self.accepted = accepted
    }

    static func start(_ name: String, port: Int) async throws -> HTTPBackend {
        let accepted = NIOLockedValueBox<[any Channel]>([])
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                accepted.withLockedValue { $0.append(channel) }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(BackendHandler(name: name))
                }
            }
            .bind(host: "127.0.0.1", port: port)
            .get()
        return HTTPBackend(name: name, channel: channel, accepted: accepted)
    }

    /// Stops listening and closes every connection, as a server process that dies does.
    func stop() async throws {
        try await channel.close()
        for child in accepted.withLockedValue({ $0 }) { try? await child.close() }
    }
}

private final class BackendHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let name: String
    var head: HTTPRequestHead?
    var body = ByteBuffer()

    init(name: String) { self.name = name }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            body.clear()
            if head.uri == "/early" {
                // Refuses the upload at once, before its body, and keeps the connection.
                var headers = HTTPHeaders()
                headers.add(name: "content-length", value: "8")
                context.write(
                    wrapOutboundOut(
                        .head(HTTPResponseHead(version: .http1_1, status: .payloadTooLarge, headers: headers))
                    ),
                    promise: nil
                )
                context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: "too big!")))), promise: nil)
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
                self.head = nil
            }
        case .body(var part):
            body.writeBuffer(&part)
        case .end:
            guard let head else { return }
            respond(context, head)
        }
    }

    private func respond(_ context: ChannelHandlerContext, _ request: HTTPRequestHead) {
        var headers = HTTPHeaders()
        var payload = ByteBuffer(string: name)
        switch request.uri {
        case "/close":
            context.close(promise: nil)
            return
        case "/slow":
            let loopBound = context.loopBound
            context.eventLoop.assumeIsolated().scheduleTask(in: .seconds(1)) {
                let context = loopBound.value
                var headers = HTTPHeaders()
                headers.add(name: "content-length", value: "4")
                context.write(
                    NIOAny(
                        HTTPServerResponsePart.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))
                    ),
                    promise: nil
                )
                context.write(
                    NIOAny(HTTPServerResponsePart.body(.byteBuffer(ByteBuffer(string: "slow")))),
                    promise: nil
                )
                context.writeAndFlush(NIOAny(HTTPServerResponsePart.end(nil)), promise: nil)
            }
            return
        case "/chunked":
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok))), promise: nil)
            for part in ["one,", "two,", "three"] {
                context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: part)))), promise: nil)
            }
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            return
        case "/echo":
            payload = body
            for name in [
                "x-forwarded-for", "cookie", "transfer-encoding", "content-length", "connection", "host", "expect",
                "x-real-ip",
            ] {
                headers.add(name: "x-seen-\(name)", value: request.headers[name].joined(separator: "|"))
            }
        default:
            break
        }
        headers.add(name: "content-length", value: "\(payload.readableBytes)")
        headers.add(name: "x-backend", value: name)
        context.write(
            wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))),
            promise: nil
        )
        context.write(wrapOutboundOut(.body(.byteBuffer(payload))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }
}

/// Sends raw bytes to the engine and reads until it closes (or 5 s pass).
func exchange(port: Int, _ request: String) async throws -> String {
    try await converse(port: port, send: request) ?? "<no close within 5 s>"
}

/// Connects to `port`, sends `request` (if not empty), shuts the sending side when `halfClose`, and reads
/// until the other end closes; nil when it has not closed within `timeout` (the connection is then closed,
/// which ends the read, so this never waits longer).
func converse(
    port: Int,
    send request: String,
    halfClose: Bool = false,
    timeout: Duration = .seconds(5)
) async throws -> String? {
    let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        .channelOption(.allowRemoteHalfClosure, value: halfClose)
        .connect(host: "127.0.0.1", port: port) { channel in
            channel.eventLoop.makeCompletedFuture {
                try NIOAsyncChannel<ByteBuffer, ByteBuffer>(
                    wrappingChannelSynchronously: channel,
                    configuration: .init(isOutboundHalfClosureEnabled: halfClose)
                )
            }
        }
    let raw = channel.channel
    return try await withThrowingTaskGroup(of: String?.self) { group in
        group.addTask {
            try? await channel.executeThenClose { inbound, outbound in
                if !request.isEmpty { try await outbound.write(ByteBuffer(string: request)) }
                if halfClose { outbound.finish() }
                var text = ""
                for try await var chunk in inbound { text += chunk.readString(length: chunk.readableBytes) ?? "" }
                return text
            }
        }
        group.addTask {
            try? await Task.sleep(for: timeout)
            try? await raw.close()
            return nil
        }
        let first = try await group.next() ?? nil
        group.cancelAll()
        return first
    }
}

/// The bodies of the responses in a raw HTTP exchange whose responses all carry Content-Length.
func bodies(_ text: String) -> [String] {
    var result: [String] = []
    var rest = Substring(text)
    while let end = rest.range(of: "\r\n\r\n") {
        let head = rest[..<end.lowerBound].lowercased()
        var length = 0
        if let line = head.split(separator: "\r\n").first(where: { $0.hasPrefix("content-length:") }) {
            length = Int(line.dropFirst("content-length:".count).filter { $0 != " " }) ?? 0
        }
        let body = rest[end.upperBound...].prefix(length)
        result.append(String(body))
        rest = rest[end.upperBound...].dropFirst(length)
    }
    return result
}
