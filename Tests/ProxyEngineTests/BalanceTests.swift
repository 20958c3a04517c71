import NIOCore
import NIOPosix
import ProxyEngine
import Testing

/// Writes a name when a connection opens and keeps it open (a long-lived session to balance).
private final class GreeterHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    let name: String
    init(name: String) { self.name = name }

    func channelActive(context: ChannelHandlerContext) {
        context.writeAndFlush(NIOAny(ByteBuffer(string: name)), promise: nil)
    }
}

/// Fulfils a promise with the first bytes the connection reads.
private final class FirstBytesHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    let promise: EventLoopPromise<String>
    private var done = false
    init(_ promise: EventLoopPromise<String>) { self.promise = promise }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        guard !done else { return }
        done = true
        promise.succeed(buffer.readString(length: buffer.readableBytes) ?? "")
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !done {
            done = true
            promise.fail(ChannelError.eof)
        }
    }
}

@Suite("Proxy engine, balance algorithms on long-lived TCP sessions", .serialized)
struct BalanceTests {
    let base = TestPorts.block()

    /// Opens a session through the engine; returns the server's name and the open connection.
    private func session(_ port: Int) async throws -> (String, any Channel) {
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let promise = loop.makePromise(of: String.self)
        let channel = try await ClientBootstrap(group: loop)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(FirstBytesHandler(promise))
                }
            }
            .connect(host: "127.0.0.1", port: port)
            .get()
        return (try await promise.futureResult.get(), channel)
    }

    private func run(_ balance: String, _ body: () async throws -> Void) async throws {
        let a = try await tcpServer(port: base + 1) { GreeterHandler(name: "a") }
        let b = try await tcpServer(port: base + 2) { GreeterHandler(name: "b") }
        let running = try await runEngine(
            """
            listen web
                bind 127.0.0.1:\(base)
                mode tcp
                balance \(balance)
                server a 127.0.0.1:\(base + 1)
                server b 127.0.0.1:\(base + 2)
            """
        )
        defer { running.cancel() }
        try await body()
        try await a.close()
        try await b.close()
    }

    @Test("leastconn sends a new session to the server with the fewest open ones (round robin would not)")
    func leastConnections() async throws {
        try await run("leastconn") {
            let (first, one) = try await session(base)
            let (second, two) = try await session(base)
            #expect(Set([first, second]) == ["a", "b"])
            try await two.close()
            // Once the engine has seen that close (its glue closes the server side: well under 300 ms on
            // loopback), the second server has no session and the first has one. Round robin would now pick
            // the first server again.
            try await Task.sleep(for: .milliseconds(300))
            let (third, three) = try await session(base)
            try await three.close()
            #expect(third == second)
            try await one.close()
        }
    }

    @Test("source keeps one client address on one server")
    func sourceHash() async throws {
        try await run("source") {
            var names: [String] = []
            for _ in 0..<6 {
                let (name, channel) = try await session(base)
                names.append(name)
                try await channel.close()
            }
            #expect(Set(names).count == 1, "\(names)")
        }
    }
}
