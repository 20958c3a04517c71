import FailoverWire
import Foundation
import Logging
import NIOCore
import NIOPosix
import Testing

@testable import FailoverAgent

/// The transfer over real TCP on loopback: the agent's server and fetcher, and fake servers that tamper with
/// a frame or hang up halfway.
@Suite("Config sync over loopback")
struct SyncLoopbackTests {
    static let key = ClusterKey(bytes: Array(0..<32))!
    static let keyring = Keyring(signing: key)
    static let group = MultiThreadedEventLoopGroup.singleton
    static let logger = Logger(label: "test")

    static let bundle = ConfigBundle(files: [Array("listen web :8080\n".utf8), (0..<300_000).map { UInt8($0 % 251) }])
    static let stamp = ConfigStamp(generation: 4, hash: bundle.hash)

    static func server(primary: Bool = true, peers: Set<String> = ["127.0.0.1"]) async throws -> any Channel {
        let box = SyncOfferBox()
        box.set(stamp: stamp, bundle: bundle)
        box.set(primary: primary)
        let server = SyncServer(
            addresses: [],
            peers: peers,
            keyring: { keyring },
            box: box,
            group: group,
            logger: logger
        )
        return try await server.bind(try SocketAddress(ipAddress: "127.0.0.1", port: 0))
    }

    static func fetch(port: Int, keyring: Keyring = keyring) async throws(SyncFetchError) -> SyncOffer {
        let fetcher = SyncFetcher(
            routes: [
                (
                    try! SocketAddress(ipAddress: "127.0.0.1", port: 0),
                    try! SocketAddress(ipAddress: "127.0.0.1", port: port)
                )
            ],
            requester: "lb2",
            limit: 16 << 20,
            files: 2,
            group: group
        )
        return try await fetcher.fetch(serving: 3, keyring: keyring)
    }

    @Test("the primary's bundle arrives whole")
    func fetches() async throws {
        let channel = try await Self.server()
        let offer = try await Self.fetch(port: channel.localAddress!.port!)
        #expect(offer.stamp == Self.stamp)
        #expect(offer.bundle == Self.bundle)
        try await channel.close()
    }

    @Test("a backup refuses to serve, another key fails authentication, a stranger is hung up on")
    func refusals() async throws {
        let backup = try await Self.server(primary: false)
        await #expect(throws: SyncFetchError.self) { try await Self.fetch(port: backup.localAddress!.port!) }
        do {
            _ = try await Self.fetch(port: backup.localAddress!.port!)
        } catch {
            #expect("\(error)".contains("not primary"))
        }
        try await backup.close()

        let primary = try await Self.server()
        let other = Keyring(signing: ClusterKey(bytes: Array(repeating: 9, count: 32))!)
        do {
            _ = try await Self.fetch(port: primary.localAddress!.port!, keyring: other)
            Issue.record("a fetch with another key succeeded")
        } catch {
            #expect("\(error)".contains("failed authentication"))
        }
        try await primary.close()

        let guarded = try await Self.server(peers: ["192.0.2.7"])
        await #expect(throws: SyncFetchError.self) { try await Self.fetch(port: guarded.localAddress!.port!) }
        try await guarded.close()
    }

    /// A fake server that follows the protocol but changes its frames with `mangle` before sending them.
    static func fakeServer(_ mangle: @escaping @Sendable ([[UInt8]]) -> [[UInt8]]) async throws -> any Channel {
        try await ServerBootstrap(group: group)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(FakeServerHandler(mangle: mangle))
                }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
    }

    @Test("a tampered chunk is refused: nothing is handed out")
    func tampered() async throws {
        let channel = try await Self.fakeServer { frames in
            var frames = frames
            frames[2][100] ^= 1
            return frames
        }
        do {
            _ = try await Self.fetch(port: channel.localAddress!.port!)
            Issue.record("a tampered transfer was accepted")
        } catch {
            #expect("\(error)".contains("a chunk frame failed authentication"))
        }
        try await channel.close()
    }

    @Test("a server that hangs up halfway: the transfer is incomplete")
    func interrupted() async throws {
        let channel = try await Self.fakeServer { frames in Array(frames.prefix(frames.count / 2)) }
        do {
            _ = try await Self.fetch(port: channel.localAddress!.port!)
            Issue.record("an interrupted transfer was accepted")
        } catch {
            #expect("\(error)".contains("the connection ended after"))
        }
        try await channel.close()
    }

    @Test("the writer stages, commits atomically, keeps owner and mode, and leaves the old files on failure")
    func writer() throws {
        let directory = NSTemporaryDirectory() + "sync-writer-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let paths = ["\(directory)/a.cfg", "\(directory)/b.pem"]
        try "old a".write(toFile: paths[0], atomically: false, encoding: .utf8)
        chmod(paths[0], 0o640)
        let writer = BundleWriter(paths: paths)
        let previous = BundleWriter.read(paths)
        let bundle = ConfigBundle(files: [Array("new a".utf8), Array("new b".utf8)])
        let staged = try writer.stage(bundle)
        #expect(BundleWriter.read(paths) == previous, "staging does not touch the targets")
        try writer.commit(staged, previous: previous)
        #expect(BundleWriter.read(paths) == bundle)
        var info = stat()
        stat(paths[0], &info)
        #expect(info.st_mode & 0o777 == 0o640)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory).sorted() == ["a.cfg", "b.pem"])

        let broken = BundleWriter(paths: [paths[0], "\(directory)/missing/c.pem"])
        do {
            _ = try broken.stage(ConfigBundle(files: [Array("newer".utf8), Array("c".utf8)]))
            Issue.record("staging into a missing directory succeeded")
        } catch {
            #expect(error.description.contains("beside \(directory)/missing/c.pem"))
            #expect(error.description.contains("create the directory \(directory)/missing"))
        }
        #expect(BundleWriter.read([paths[0]]).files[0] == Array("new a".utf8), "the old file stays in place")
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory).sorted() == ["a.cfg", "b.pem"])
    }
}

final class FakeServerHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    var session = SyncServerSession(keyring: SyncLoopbackTests.keyring, nonce: Array(repeating: 5, count: 16))
    let mangle: @Sendable ([[UInt8]]) -> [[UInt8]]

    init(mangle: @escaping @Sendable ([[UInt8]]) -> [[UInt8]]) { self.mangle = mangle }

    func channelActive(context: ChannelHandlerContext) {
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(bytes: session.hello())), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard (try? session.receive(unwrapInboundIn(data).readableBytesView)) != nil else { return }
        let offer = SyncOffer(stamp: SyncLoopbackTests.stamp, bundle: SyncLoopbackTests.bundle, ancestors: [])
        for frame in mangle(session.response(offer)) {
            context.write(wrapOutboundOut(context.channel.allocator.buffer(bytes: frame)), promise: nil)
        }
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(channel.allocator.buffer(capacity: 0))).whenComplete { _ in
            channel.close(promise: nil)
        }
    }
}
