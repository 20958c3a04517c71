import CFailoverNet
import Dispatch
import FailoverConfig
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The agent's rtnetlink socket, opened once at start: adding or removing a VIP needs no new descriptor and
/// no process (before, each claim, release and the reconcile every second spawned `ip`, so an agent out of
/// descriptors could not claim). Requests run one at a time on a thread of their own, never on the tasks'
/// shared threads: the kernel answers at once, but a request waits up to 2 s when it does not.
final class RouteNetlink: Sendable {
    private let descriptor: Mutex<CInt>
    private let queue = DispatchQueue(label: "failover-agent.netlink")

    /// Opens the socket; throws with the errno's text when it cannot.
    init() throws(RouteNetlinkError) {
        let result = fa_rtnl_open()
        guard result >= 0 else { throw RouteNetlinkError(code: -result, doing: "open a NETLINK_ROUTE socket") }
        descriptor = Mutex(result)
    }

    deinit { _ = descriptor.withLock { close($0) } }

    /// How an address change ended.
    enum Change: Equatable {
        case done
        /// Adding: it was there already; removing: it was not there.
        case unchanged
        /// No answer in time: the kernel may still have made the change (the socket is replaced, so a late
        /// answer cannot be taken for the next request's).
        case timedOut
        case failed(String)
    }

    /// Adds (or removes) `vip` on its interface, as `ip addr add|del ADDR/PREFIX dev IF [nodad]`.
    func change(_ vip: AgentConfiguration.VIP, add: Bool) async -> Change {
        let timedOut: @Sendable (Change) -> Bool = { $0 == .timedOut }
        return await run(timedOut: timedOut) { descriptor in
            let family = vip.address.isIPv6 ? AF_INET6 : AF_INET
            let result = fa_rtnl_address(
                descriptor,
                add ? 1 : 0,
                family,
                vip.address.bytes,
                CInt(vip.prefixLength),
                vip.interface
            )
            switch -result {
            case 0: return .done
            case EEXIST where add: return .unchanged
            case EADDRNOTAVAIL where !add: return .unchanged
            case EAGAIN: return .timedOut
            case ENODEV: return .failed("no interface \(vip.interface) on this node")
            default: return .failed(String(cString: strerror(-result)))
            }
        }
    }

    /// The addresses (with prefix lengths) on `interface`, or the failure in words.
    func addresses(on interface: String) async -> Result<[(IPAddress, Int)], RouteNetlinkError> {
        let timedOut: @Sendable (Listing) -> Bool = { listing in
            if case .failure(let error) = listing { error.code == EAGAIN } else { false }
        }
        let listing: Listing = await run(timedOut: timedOut) { descriptor in
            var buffer = [UInt8](repeating: 0, count: 18 * 512)
            let count = fa_rtnl_list(descriptor, interface, &buffer, 512)
            guard count >= 0 else {
                return .failure(RouteNetlinkError(code: -count, doing: "list the addresses of \(interface)"))
            }
            return .success(
                (0..<Int(count)).map { index in
                    let start = 18 * index
                    let address: IPAddress =
                        buffer[start] == 4
                        ? .v4(Array(buffer[(start + 2)..<(start + 6)])) : .v6(Array(buffer[(start + 2)..<(start + 18)]))
                    return Entry(address: address, prefixLength: Int(buffer[start + 1]))
                }
            )
        }
        return listing.map { entries in entries.map { ($0.address, $0.prefixLength) } }
    }

    private struct Entry: Sendable {
        var address: IPAddress
        var prefixLength: Int
    }
    private typealias Listing = Result<[Entry], RouteNetlinkError>

    /// Runs `request` on the socket, on the netlink thread. After a timeout the socket is replaced: an answer
    /// still on its way (or a dump still running) belongs to the old one.
    private func run<T: Sendable>(
        timedOut: @escaping @Sendable (T) -> Bool,
        _ request: @escaping @Sendable (CInt) -> T
    ) async -> T {
        await withCheckedContinuation { continuation in
            queue.async {
                let result = self.descriptor.withLock { descriptor -> T in
                    let result = request(descriptor)
                    if timedOut(result) { self.reopen(&descriptor) }
                    return result
                }
                continuation.resume(returning: result)
            }
        }
    }

    private func reopen(_ descriptor: inout CInt) {
        let fresh = fa_rtnl_open()
        guard fresh >= 0 else { return }
        close(descriptor)
        descriptor = fresh
    }
}

/// A failed rtnetlink request.
struct RouteNetlinkError: Error, CustomStringConvertible, Sendable {
    var code: CInt
    var doing: String
    var description: String { "cannot \(doing): \(String(cString: strerror(code)))" }
}
