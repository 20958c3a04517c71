import CFailoverNet
import FailoverConfig

#if canImport(Glibc)
import Glibc
#endif

/// The agent's rtnetlink socket, opened once at start: adding or removing a VIP needs no new descriptor and
/// no process (before, each claim, release and the reconcile every second spawned `ip`, so an agent out of
/// descriptors could not claim). One request at a time; the kernel answers each at once.
final class RouteNetlink: Sendable {
    private let descriptor: CInt

    /// Opens the socket; throws with the errno's text when it cannot.
    init() throws(RouteNetlinkError) {
        let result = fa_rtnl_open()
        guard result >= 0 else { throw RouteNetlinkError(code: -result, doing: "open a NETLINK_ROUTE socket") }
        descriptor = result
    }

    deinit { close(descriptor) }

    /// How an address change ended.
    enum Change: Equatable {
        case done
        /// Adding: it was there already; removing: it was not there.
        case unchanged
        case failed(String)
    }

    /// Adds (or removes) `vip` on its interface, as `ip addr add|del ADDR/PREFIX dev IF [nodad]`.
    func change(_ vip: AgentConfiguration.VIP, add: Bool) -> Change {
        let family = vip.address.isIPv6 ? AF_INET6 : AF_INET
        let bytes = vip.address.bytes
        let result = fa_rtnl_address(descriptor, add ? 1 : 0, family, bytes, CInt(vip.prefixLength), vip.interface)
        switch -result {
        case 0: return .done
        case EEXIST where add: return .unchanged
        case EADDRNOTAVAIL where !add: return .unchanged
        case ENODEV: return .failed("no interface \(vip.interface) on this node")
        default: return .failed(String(cString: strerror(-result)))
        }
    }

    /// The addresses (with prefix lengths) on `interface`, or the failure in words.
    func addresses(on interface: String) -> Result<[(IPAddress, Int)], RouteNetlinkError> {
        var buffer = [UInt8](repeating: 0, count: 18 * 512)
        let count = fa_rtnl_list(descriptor, interface, &buffer, 512)
        guard count >= 0 else {
            return .failure(RouteNetlinkError(code: -count, doing: "list the addresses of \(interface)"))
        }
        return .success(
            (0..<Int(count)).map { index in
                let entry = buffer[(18 * index)..<(18 * index + 18)]
                let start = entry.startIndex
                let address: IPAddress =
                    entry[start] == 4
                    ? .v4(Array(entry[(start + 2)..<(start + 6)])) : .v6(Array(entry[(start + 2)..<(start + 18)]))
                return (address, Int(entry[start + 1]))
            }
        )
    }
}

/// A failed rtnetlink request.
struct RouteNetlinkError: Error, CustomStringConvertible {
    var code: CInt
    var doing: String
    var description: String { "cannot \(doing): \(String(cString: strerror(code)))" }
}
