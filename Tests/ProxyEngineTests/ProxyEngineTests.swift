import Logging
import NIOCore
import NIOPosix
import ProxyConfig
import ProxyEngine
import Testing

/// Writes a name when the connection opens, then closes it.
private final class NameHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    let name: String
    init(name: String) { self.name = name }

    func channelActive(context: ChannelHandlerContext) {
        let channel = context.channel
        context.writeAndFlush(NIOAny(ByteBuffer(string: name))).whenComplete { _ in channel.close(promise: nil) }
    }
}

/// A backend that answers every connection with its name and closes.
private func nameServer(_ name: String, port: Int) async throws -> any Channel {
    try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
        .childChannelInitializer { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(NameHandler(name: name))
            }
        }
        .bind(host: "127.0.0.1", port: port)
        .get()
}

/// Connects to the engine and reads until the server closes.
private func ask(port: Int) async throws -> String {
    let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        .connect(host: "127.0.0.1", port: port) { channel in
            channel.eventLoop.makeCompletedFuture {
                try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
            }
        }
    return try await channel.executeThenClose { inbound, _ in
        var text = ""
        for try await var chunk in inbound { text += chunk.readString(length: chunk.readableBytes) ?? "" }
        return text
    }
}

@Suite("Proxy engine, TCP mode, on loopback", .serialized)
struct ProxyEngineTests {
    /// Below the ephemeral range (32768+), so outgoing connections never hold our ports.
    let base = 20_000 + Int.random(in: 0..<2_000) * 4

    func engine(_ text: String) throws -> ProxyEngine {
        let configuration = try ProxyConfigParser.parse(text, file: "test.cfg")
        return try ProxyEngine(
            configuration: configuration,
            group: MultiThreadedEventLoopGroup.singleton,
            logger: Logger(label: "test")
        )
    }

    @Test(
        "round robin honours weights; a backup serves only when every other server is down; checks bring servers back"
    )
    func roundRobinAndBackup() async throws {
        let front = base
        let a = try await nameServer("a", port: base + 1)
        let b = try await nameServer("b", port: base + 2)
        var c: (any Channel)? = try await nameServer("c", port: base + 3)
        let proxy = try engine(
            """
            listen web 127.0.0.1:\(front)
                mode tcp
                balance roundrobin
                timeout check 200ms
                server a 127.0.0.1:\(base + 1) check inter 100ms rise 1 fall 1 weight 2
                server b 127.0.0.1:\(base + 2) check inter 100ms rise 1 fall 1
                server c 127.0.0.1:\(base + 3) check inter 100ms rise 1 fall 1 backup
            """
        )
        let (readyStream, readySink) = AsyncStream<Void>.makeStream()
        let running = Task { try await proxy.run { readySink.yield() } }
        defer { running.cancel() }
        for await _ in readyStream { break }
        var answers: [String] = []
        for _ in 0..<9 { answers.append(try await ask(port: front)) }
        #expect(answers.filter { $0 == "a" }.count == 6)
        #expect(answers.filter { $0 == "b" }.count == 3)
        #expect(!answers.contains("c"))
        try await a.close()
        try await b.close()
        try await Task.sleep(for: .milliseconds(400))
        #expect(try await ask(port: front) == "c")
        let a2 = try await nameServer("a", port: base + 1)
        try await Task.sleep(for: .milliseconds(400))
        #expect(try await ask(port: front) == "a")
        try await a2.close()
        try await c?.close()
        c = nil
    }

    @Test("a refused connection is retried on the next server")
    func retries() async throws {
        let front = base
        let b = try await nameServer("b", port: base + 2)
        let proxy = try engine(
            """
            listen web 127.0.0.1:\(front)
                balance first
                retries 2
                server a 127.0.0.1:\(base + 1)
                server b 127.0.0.1:\(base + 2)
            """
        )
        let (readyStream, readySink) = AsyncStream<Void>.makeStream()
        let running = Task { try await proxy.run { readySink.yield() } }
        defer { running.cancel() }
        for await _ in readyStream { break }
        #expect(try await ask(port: front) == "b")
        try await b.close()
    }

    @Test("http mode is refused with the frontend and line until the HTTP engine lands")
    func httpRefused() throws {
        #expect(throws: ProxyEngineError.self) {
            try engine(
                "frontend f\n    mode http\n    bind 127.0.0.1:\(base)\n    default_backend b\nbackend b\n    mode http\n"
            )
        }
    }
}
