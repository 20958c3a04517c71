import FailoverConfig
import Logging

/// Adds and removes the shared addresses with `ip addr`; the only place that changes interface addresses.
///
/// Operations are retried (3 attempts, 100 ms apart) and report the last error in words. Adding an address
/// that is already there, or removing one that is gone, counts as success.
struct VIPDriver: Sendable {
    let vips: [AgentConfiguration.VIP]
    let ip = IPCommand()
    let logger: Logger

    /// `ip addr add` for every VIP (or only `subset`). Returns nil on success, else what failed.
    func claim(only subset: [AgentConfiguration.VIP]? = nil) async -> String? {
        for vip in subset ?? vips {
            var arguments = ["addr", "add", "\(vip.address)/\(vip.prefixLength)", "dev", vip.interface]
            if vip.address.isIPv6 { arguments.append("nodad") }
            // IPv4 says "File exists", IPv6 "address already assigned": either way it is there.
            if let failure = await retry(arguments, tolerate: ["File exists", "already assigned"]) {
                return "ip \(arguments.joined(separator: " ")): \(failure)"
            }
        }
        return nil
    }

    /// `ip addr del` for every VIP. Returns nil on success, else what failed.
    func release() async -> String? {
        var failures: [String] = []
        for vip in vips {
            let arguments = ["addr", "del", "\(vip.address)/\(vip.prefixLength)", "dev", vip.interface]
            // IPv4 says "Cannot assign requested address", IPv6 "address not found": either way it is gone.
            let gone = ["Cannot assign requested address", "address not found"]
            if let failure = await retry(arguments, tolerate: gone) {
                failures.append("ip \(arguments.joined(separator: " ")): \(failure)")
            }
        }
        return failures.isEmpty ? nil : failures.joined(separator: "; ")
    }

    /// Which VIPs are on their interfaces now.
    func present() async -> [AgentConfiguration.VIP] {
        var found: [AgentConfiguration.VIP] = []
        var listings: [String: String] = [:]
        for vip in vips {
            if listings[vip.interface] == nil {
                let result = await ip.run(["-o", "addr", "show", "dev", vip.interface])
                listings[vip.interface] = result.output
            }
            let listing = listings[vip.interface] ?? ""
            let needle = " \(vip.address)/\(vip.prefixLength) "
            if listing.split(separator: "\n").contains(where: { " \($0) ".contains(needle) }) {
                found.append(vip)
            }
        }
        return found
    }

    private func retry(_ arguments: [String], tolerate: [String]) async -> String? {
        var lastError = ""
        for attempt in 1...3 {
            let result = await ip.run(arguments)
            if result.succeeded || tolerate.contains(where: { result.error.contains($0) }) { return nil }
            lastError = result.error.isEmpty ? "exit status not 0" : result.error
            logger.warning(
                "ip command failed",
                metadata: [
                    "command": "ip \(arguments.joined(separator: " "))", "attempt": "\(attempt)",
                    "error": "\(lastError)",
                ]
            )
            if attempt < 3 { try? await Task.sleep(for: .milliseconds(100)) }
        }
        return lastError
    }
}
