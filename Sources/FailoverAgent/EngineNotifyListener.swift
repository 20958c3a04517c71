import CFailoverNet
import Logging
import NIOCore
import NIOPosix

#if canImport(Glibc)
import Glibc
#endif

/// The agent's own sd_notify socket for the engine it supervises: the engine gets `NOTIFY_SOCKET` pointing
/// here and says `READY=1`, `RELOADING=1`, `STOPPING=1` as it would to systemd (HAProxy does with `-Ws`,
/// `failover-agent proxy` does too). A non-blocking Unix datagram socket read every 50 ms: the messages
/// are few, and the engine's readiness is not latency-critical to the millisecond.
final class EngineNotifyListener: Sendable {
    let path: String
    private let descriptor: CInt

    /// Binds the socket (replacing a stale one at `path`). With `writerGroup`, the socket is 0620 and that
    /// group's (the engine's own user sends from it); otherwise 0600.
    init(path: String, writerGroup: gid_t? = nil) throws {
        self.path = path
        unlink(path)
        let descriptor = socket(
            AF_UNIX,
            CInt(SOCK_DGRAM.rawValue) | CInt(SOCK_NONBLOCK.rawValue) | CInt(SOCK_CLOEXEC.rawValue),
            0
        )
        guard descriptor >= 0 else {
            throw NotifySocketError(description: "socket: \(String(cString: strerror(errno)))")
        }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            close(descriptor)
            throw NotifySocketError(description: "path too long for a Unix socket: \(path)")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            for (index, byte) in bytes.enumerated() { buffer[index] = byte }
        }
        let bound = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard bound == 0 else {
            let reason = String(cString: strerror(errno))
            close(descriptor)
            throw NotifySocketError(description: "bind \(path): \(reason)")
        }
        if let writerGroup {
            chown(path, uid_t.max, writerGroup)
            chmod(path, 0o620)
        } else {
            chmod(path, 0o600)
        }
        // The kernel attaches each sender's pid, so only the engine's own messages count.
        var one: CInt = 1
        setsockopt(descriptor, SOL_SOCKET, SO_PASSCRED, &one, socklen_t(MemoryLayout<CInt>.size))
        self.descriptor = descriptor
    }

    deinit {
        close(descriptor)
        unlink(path)
    }

    /// Reads datagrams until cancelled; each one's text and sender pid go to `messages`.
    func run(_ messages: AsyncStream<(String, Int32)>.Continuation) async {
        var buffer = [UInt8](repeating: 0, count: 4_096)
        while !Task.isCancelled {
            while true {
                var sender: Int32 = 0
                let count = fa_recv_with_sender(descriptor, &buffer, buffer.count, &sender)
                guard count > 0 else { break }
                messages.yield((String(decoding: buffer[0..<count], as: UTF8.self), sender))
            }
            try? await Task.sleep(for: .milliseconds(50))
        }
    }
}

/// The notify socket could not be opened.
struct NotifySocketError: Error, CustomStringConvertible {
    let description: String
}

/// One TCP connect to the engine's listener, within `timeout`.
struct EngineProbe: Sendable {
    let host: String
    let port: Int
    let group: any EventLoopGroup

    func attempt(timeout: TimeAmount) async -> Bool {
        do {
            let channel = try await ClientBootstrap(group: group)
                .connectTimeout(timeout)
                .connect(host: host, port: port)
                .get()
            try? await channel.close()
            return true
        } catch {
            return false
        }
    }
}
