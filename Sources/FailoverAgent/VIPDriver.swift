import FailoverConfig
import Logging

/// Adds and removes the shared addresses with `ip addr`; the only place that changes interface addresses.
///
/// Operations are retried (3 attempts, 100 ms apart) and report the last error in words. Adding an address
/// that is already there, or removing one that is gone, counts as success. Only addresses the agent added
/// (its ``VIPLedger``) are ever removed: one it found already there is left in place and reported.
struct VIPDriver: Sendable {
    let vips: [AgentConfiguration.VIP]
    let ip = IPCommand()
    let ledger: VIPLedger
    let logger: Logger

    /// `ip addr add` for every VIP (or only `subset`). Returns nil on success, else what failed.
    func claim(only subset: [AgentConfiguration.VIP]? = nil) async -> String? {
        for vip in subset ?? vips {
            var arguments = ["addr", "add", "\(vip.address)/\(vip.prefixLength)", "dev", vip.interface]
            if vip.address.isIPv6 { arguments.append("nodad") }
            // IPv4 says "File exists", IPv6 "address already assigned": either way it is there.
            switch await retry(arguments, tolerate: ["File exists", "already assigned"]) {
            case .failed(let failure):
                return "ip \(arguments.joined(separator: " ")): \(failure)"
            case .done(let wasThere):
                if !wasThere {
                    ledger.record(vip)
                } else if !ledger.contains(vip) {
                    logger.warning(
                        "a VIP was already on the interface and the agent did not add it: it serves, but the agent will never remove it",
                        metadata: [
                            "vip": "\(vip.address)", "interface": "\(vip.interface)", "fix": "\(Self.foreignFix(vip))",
                        ]
                    )
                }
            }
        }
        return nil
    }

    /// `ip addr del` for every VIP the agent added. Returns nil on success, else what failed; VIPs found on
    /// an interface that the agent did not add are left there, logged, and returned in `leftInPlace`.
    @discardableResult
    func release() async -> String? { await releaseReporting().failure }

    /// `release`, also saying which VIPs it left in place.
    func releaseReporting() async -> (failure: String?, leftInPlace: [AgentConfiguration.VIP]) {
        var failures: [String] = []
        let added = ledger.recorded()
        var foreign: [AgentConfiguration.VIP] = []
        let present = await present()
        for vip in vips {
            guard added.contains(VIPLedger.key(vip)) else {
                if present.contains(vip) { foreign.append(vip) }
                continue
            }
            let arguments = ["addr", "del", "\(vip.address)/\(vip.prefixLength)", "dev", vip.interface]
            // IPv4 says "Cannot assign requested address", IPv6 "address not found": either way it is gone.
            let gone = ["Cannot assign requested address", "address not found"]
            if case .failed(let failure) = await retry(arguments, tolerate: gone) {
                failures.append("ip \(arguments.joined(separator: " ")): \(failure)")
            } else {
                ledger.forget(vip)
            }
        }
        for vip in foreign {
            logger.error(
                "a VIP is on the interface but the agent did not add it: left in place",
                metadata: ["vip": "\(vip.address)", "interface": "\(vip.interface)", "fix": "\(Self.foreignFix(vip))"]
            )
        }
        return (failures.isEmpty ? nil : failures.joined(separator: "; "), foreign)
    }

    static func foreignFix(_ vip: AgentConfiguration.VIP) -> String {
        "if it is this node's own address, configure a VIP no node has; if it was added by hand, remove it: "
            + "ip addr del \(vip.address)/\(vip.prefixLength) dev \(vip.interface)"
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

    /// How an `ip` command ended: done (`tolerated`: with one of the tolerated errors), or failed.
    private enum Outcome {
        case done(tolerated: Bool)
        case failed(String)
    }

    private func retry(_ arguments: [String], tolerate: [String]) async -> Outcome {
        var lastError = ""
        for attempt in 1...3 {
            let result = await ip.run(arguments)
            if result.succeeded { return .done(tolerated: false) }
            if tolerate.contains(where: { result.error.contains($0) }) { return .done(tolerated: true) }
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
        return .failed(lastError)
    }
}
