import NIOCore
import ProxyConfig
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The listening sockets of a proxy process, kept across reloads. Each engine gets a duplicate of the
/// socket for its address, so an old and a new engine accept from the same kernel socket and the same
/// accept queue: when the old engine closes its descriptor on reload, no queued connection is lost (two
/// separate SO_REUSEPORT sockets would reset what sat in the closing one's queue). Sockets are not opened
/// with SO_REUSEPORT, so a second process on the same port fails with "address in use" instead of silently
/// sharing the traffic.
public final class ListeningSockets: Sendable {
    private let held = Mutex<[BindAddress: CInt]>([:])

    public init() {}

    deinit {
        held.withLock { held in
            for descriptor in held.values { close(descriptor) }
        }
    }

    /// A descriptor for `bind`, for the caller to own: a duplicate of the held socket, or of a new one.
    func descriptor(for bind: BindAddress) throws -> CInt {
        try held.withLock { held in
            let socket: CInt
            if let existing = held[bind] {
                socket = existing
            } else {
                socket = try Self.open(bind)
                held[bind] = socket
            }
            let copy = fcntl(socket, F_DUPFD_CLOEXEC, 0)
            guard copy >= 0 else {
                throw ProxyEngineError(description: "cannot duplicate the socket of \(bind): \(Self.error())")
            }
            return copy
        }
    }

    /// Closes the held sockets of addresses not in `binds` (call once the engines that used them stopped).
    public func keep(only binds: Set<BindAddress>) {
        held.withLock { held in
            for (bind, descriptor) in held where !binds.contains(bind) {
                close(descriptor)
                held[bind] = nil
            }
        }
    }

    private static func open(_ bind: BindAddress) throws -> CInt {
        let address: SocketAddress
        do {
            address = try SocketAddress(ipAddress: bind.host, port: bind.port)
        } catch {
            throw ProxyEngineError(description: "\(bind) is not an address: \(error)")
        }
        let family = address.protocol == .inet6 ? AF_INET6 : AF_INET
        let descriptor = socket(
            family,
            CInt(SOCK_STREAM.rawValue) | CInt(SOCK_NONBLOCK.rawValue) | CInt(SOCK_CLOEXEC.rawValue),
            0
        )
        guard descriptor >= 0 else {
            throw ProxyEngineError(description: "cannot create a socket for \(bind): \(error())")
        }
        var one: CInt = 1
        setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<CInt>.size))
        var bound = address.withSockAddr { pointer, length in Glibc.bind(descriptor, pointer, socklen_t(length)) }
        if bound != 0 && errno == EADDRNOTAVAIL {
            // Not a local address now: the shared IP on the backup. IP_FREEBIND binds it anyway (no sysctl, no
            // privilege), so the engine is warm and serves the moment the VIP arrives.
            setsockopt(descriptor, CInt(IPPROTO_IP), IP_FREEBIND, &one, socklen_t(MemoryLayout<CInt>.size))
            bound = address.withSockAddr { pointer, length in Glibc.bind(descriptor, pointer, socklen_t(length)) }
        }
        guard bound == 0 else {
            let reason = error()
            close(descriptor)
            throw ProxyEngineError(description: "cannot bind \(bind): \(reason)")
        }
        guard listen(descriptor, 1_024) == 0 else {
            let reason = error()
            close(descriptor)
            throw ProxyEngineError(description: "cannot listen on \(bind): \(reason)")
        }
        return descriptor
    }

    private static func error() -> String { String(cString: strerror(errno)) }
}
