import CFailoverNet
import FailoverConfig
import Logging

/// Tells neighbours where the shared addresses live now: gratuitous ARP for IPv4, unsolicited neighbour
/// advertisement for IPv6. The only place that sends them.
struct Announcer: Sendable {
    let vips: [AgentConfiguration.VIP]
    /// Announce only while the VIP is held here.
    let presence: VIPPresence
    /// Packets per burst.
    var count = 3
    /// Between packets of a burst.
    var spacing = Duration.milliseconds(100)
    let logger: Logger

    /// Sends one burst for every VIP. Returns how many packets went out.
    @discardableResult
    func burst(reason: String) async -> Int {
        var sent = 0
        for round in 0..<count {
            if round > 0 { try? await Task.sleep(for: spacing) }
            guard presence.isHeld else {
                logger.info("announcement burst stopped: the VIP is being released", metadata: ["reason": "\(reason)"])
                return sent
            }
            for vip in vips {
                let status = sendOne(vip)
                if status == 0 {
                    sent += 1
                } else if round == 0 {
                    logger.warning(
                        "announcement failed",
                        metadata: [
                            "vip": "\(vip.address)", "interface": "\(vip.interface)",
                            "error": "\(errnoText(-status))",
                        ]
                    )
                }
            }
        }
        logger.info("announced VIP", metadata: ["packets": "\(sent)", "reason": "\(reason)"])
        return sent
    }

    private func sendOne(_ vip: AgentConfiguration.VIP) -> Int32 {
        var bytes = vip.address.bytes
        return vip.interface.withCString { name in
            bytes.withUnsafeMutableBufferPointer { pointer in
                vip.address.isIPv6
                    ? fa_send_unsolicited_na(name, pointer.baseAddress)
                    : fa_send_gratuitous_arp(name, pointer.baseAddress)
            }
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif

/// `strerror` text for an errno value.
func errnoText(_ code: Int32) -> String {
    guard let text = strerror(code) else { return "errno \(code)" }
    return "\(String(cString: text)) (errno \(code))"
}
