import CFailoverNet
import ControlProtocol
import Foundation
import Logging
import NIOCore
import NIOPosix

/// The operator socket: a Unix socket speaking JSON lines (docs/control.md). Mode 0660, group `group`;
/// commands that change state need root or a member of that group, and never the engine's user (a
/// compromised engine must not move the VIP or reload configs, whatever groups its user is given).
struct ControlServer: Sendable {
    let path: String
    let group: String
    /// The engine's user, when it has its own (`engine.user`): never privileged here.
    var engineUID: uid_t? = nil
    let eventLoops: any EventLoopGroup
    let events: AsyncStream<AgentEvent>.Continuation
    let logger: Logger

    func start() async throws -> any Channel {
        let directory = (path as NSString).deletingLastPathComponent
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let events = self.events
        let groupName = self.group
        let engineUID = self.engineUID
        let logger = self.logger
        // One request a connection: 64 at once, 8 per uid (so one user cannot lock root out), 30 s each at most
        // (a failover waits for the handoff).
        let limit = ListenerLimit(name: "control", limit: 64, perSource: 8, deadline: .seconds(30))
        let channel = try await ServerBootstrap(group: eventLoops)
            .childChannelInitializer { channel in
                Self.uid(of: channel).flatMap { uid in
                    guard limit.admit(channel, source: uid) else {
                        return channel.eventLoop.makeSucceededVoidFuture()
                    }
                    return channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandlers(
                            ByteToMessageHandler(LineDecoder(limit: 65_536)),
                            ControlConnectionHandler(
                                events: events,
                                group: groupName,
                                engineUID: engineUID,
                                logger: logger
                            )
                        )
                    }
                }
            }
            .bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true)
            .get()
        chmod(path, 0o660)
        // Only the group changes (uid_t(-1) keeps the owner): works as root and as the agent's own user.
        if let entry = getgrnam(group) { chown(path, uid_t.max, entry.pointee.gr_gid) }
        logger.info("control socket listening", metadata: ["path": "\(path)", "group": "\(group)"])
        return channel
    }
}

extension ControlServer {
    /// The caller's uid (SO_PEERCRED), read at accept: the control socket's limits are per uid. "?" when it
    /// cannot be read.
    static func uid(of channel: any Channel) -> EventLoopFuture<String> {
        guard let provider = channel as? any SocketOptionProvider else {
            return channel.eventLoop.makeSucceededFuture("?")
        }
        let credentials: EventLoopFuture<fa_ucred> = provider.unsafeGetSocketOption(
            level: SocketOptionLevel(SOL_SOCKET),
            name: SocketOptionName(SO_PEERCRED)
        )
        return credentials.map { "\($0.uid)" }.recover { _ in "?" }
    }
}

/// Splits a byte stream into lines (without the newline), refusing lines longer than `limit`.
struct LineDecoder: ByteToMessageDecoder {
    typealias InboundOut = ByteBuffer
    let limit: Int

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let newline = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) else {
            if buffer.readableBytes > limit { throw ControlLineTooLong() }
            return .needMoreData
        }
        let length = newline - buffer.readerIndex
        // Also when the newline came in the same read as the bytes past the limit.
        if length > limit { throw ControlLineTooLong() }
        let line = buffer.readSlice(length: length)!
        buffer.moveReaderIndex(forwardBy: 1)
        context.fireChannelRead(wrapInboundOut(line))
        return .continue
    }
}

struct ControlLineTooLong: Error {}

private final class ControlConnectionHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let events: AsyncStream<AgentEvent>.Continuation
    let group: String
    let engineUID: uid_t?
    let logger: Logger

    init(events: AsyncStream<AgentEvent>.Continuation, group: String, engineUID: uid_t?, logger: Logger) {
        self.events = events
        self.group = group
        self.engineUID = engineUID
        self.logger = logger
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let line = unwrapInboundIn(data)
        let channel = context.channel
        let reply: @Sendable (ControlReply) -> Void = { reply in
            var encoded =
                (try? JSONEncoder.control.encode(reply)) ?? Data("{\"ok\":false,\"message\":\"encoding failed\"}".utf8)
            encoded.append(UInt8(ascii: "\n"))
            let text = encoded
            channel.eventLoop.execute {
                channel.writeAndFlush(ByteBuffer(bytes: text)).whenComplete { _ in channel.close(promise: nil) }
            }
        }
        let request: ControlRequest
        switch ControlRequest.parse(Array(line.readableBytesView)) {
        case .success(let parsed):
            request = parsed
        case .failure(let problem):
            AgentMetrics().controlRefused(reason: "bad_request")
            reply(ControlReply(ok: false, message: problem.description, error: .badRequest))
            return
        }
        let events = self.events
        credentials(of: channel).whenComplete { result in
            let caller = (try? result.get()) ?? ControlCaller(uid: .max, gid: .max, pid: -1, privileged: false)
            events.yield(.control(request, caller, reply))
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if error is ControlLineTooLong { AgentMetrics().controlRefused(reason: "too_long") }
        context.close(promise: nil)
    }

    private func credentials(of channel: any Channel) -> EventLoopFuture<ControlCaller> {
        guard let provider = channel as? any SocketOptionProvider else {
            return channel.eventLoop.makeSucceededFuture(
                ControlCaller(uid: .max, gid: .max, pid: -1, privileged: false)
            )
        }
        let group = self.group
        let engineUID = self.engineUID
        let future: EventLoopFuture<fa_ucred> = provider.unsafeGetSocketOption(
            level: SocketOptionLevel(SOL_SOCKET),
            name: SocketOptionName(SO_PEERCRED)
        )
        return future.map { credentials in
            ControlCaller(
                uid: credentials.uid,
                gid: credentials.gid,
                pid: credentials.pid,
                privileged: credentials.uid != engineUID
                    && fa_user_in_group(credentials.uid, credentials.gid, group) == 1
            )
        }
    }
}

extension JSONEncoder {
    /// Compact, stable key order.
    static var control: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }
}
