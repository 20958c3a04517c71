import Logging
import NIOCore
import NIOPosix
import ProxyConfig
import ProxyEngine

/// Parses `text`, runs an engine on it and returns once it is ready (or its run ended: a bind failed, say,
/// so the test fails instead of hanging). Cancel the task to stop the engine.
func runEngine(_ text: String, drain: Duration = .milliseconds(100)) async throws -> Task<Void, any Error> {
    // The parser refuses a last line without a newline, as HAProxy does; the tests write their configs inline.
    let configuration = try ProxyConfigParser.parse(text.hasSuffix("\n") ? text : text + "\n", file: "test.cfg")
    let engine = try ProxyEngine(
        configuration: configuration,
        group: MultiThreadedEventLoopGroup.singleton,
        logger: Logger(label: "test")
    )
    let (ready, readySink) = AsyncStream<Void>.makeStream()
    let task = Task {
        defer { readySink.finish() }
        try await engine.run(drain: drain) { readySink.yield() }
    }
    for await _ in ready { break }
    return task
}

/// A TCP server on 127.0.0.1:`port` whose connections each get a new handler from `handler`.
func tcpServer(
    port: Int,
    _ handler: @escaping @Sendable () -> any ChannelHandler
) async throws -> any Channel {
    try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
        .childChannelInitializer { channel in
            channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(handler()) }
        }
        .bind(host: "127.0.0.1", port: port)
        .get()
}
