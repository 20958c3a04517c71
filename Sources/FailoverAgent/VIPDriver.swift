import FailoverConfig
import Logging

/// Adds and removes the shared addresses over rtnetlink (``RouteNetlink``, what `ip addr` does, without a
/// process); the only place that changes interface addresses.
///
/// Operations are retried (3 attempts, 100 ms apart) and report the last error in words. Adding an address
/// that is already there, or removing one that is gone, counts as success. Only addresses the agent added
/// (its ``VIPLedger``) are ever removed: one it found already there is left in place and reported.
struct VIPDriver: Sendable {
    let vips: [AgentConfiguration.VIP]
    let netlink: RouteNetlink
    let ledger: VIPLedger
    let logger: Logger

    /// Adds every VIP (or only `subset`). Returns nil on success, else what failed.
    func claim(only subset: [AgentConfiguration.VIP]? = nil) async -> String? {
        for vip in subset ?? vips {
            switch await retry(vip, add: true) {
            case .failed(let failure):
                return "adding \(vip.address)/\(vip.prefixLength) on \(vip.interface): \(failure)"
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

    /// Removes every VIP the agent added. Returns nil on success, else what failed; VIPs found on
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
            if case .failed(let failure) = await retry(vip, add: false) {
                failures.append("removing \(vip.address)/\(vip.prefixLength) from \(vip.interface): \(failure)")
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
        var listings: [String: [(IPAddress, Int)]] = [:]
        for vip in vips {
            if listings[vip.interface] == nil {
                switch await netlink.addresses(on: vip.interface) {
                case .success(let addresses): listings[vip.interface] = addresses
                case .failure: listings[vip.interface] = []
                }
            }
            if listings[vip.interface]?.contains(where: { $0.0 == vip.address && $0.1 == vip.prefixLength }) == true {
                found.append(vip)
            }
        }
        return found
    }

    /// How a change ended: done (`tolerated`: it was already so), or failed.
    private enum Outcome {
        case done(tolerated: Bool)
        case failed(String)
    }

    private func retry(_ vip: AgentConfiguration.VIP, add: Bool) async -> Outcome {
        var lastError = ""
        var timedOut = false
        for attempt in 1...3 {
            switch await netlink.change(vip, add: add) {
            case .done: return .done(tolerated: false)
            // After an attempt that got no answer, "already there" is most likely that attempt's doing: the
            // address is ours (recorded in the ledger, removed on release), not someone else's.
            case .unchanged: return .done(tolerated: !timedOut)
            case .timedOut:
                timedOut = true
                lastError = "no answer from the kernel within 2 s"
            case .failed(let error): lastError = error
            }
            logger.warning(
                "address change failed",
                metadata: [
                    "change": "\(add ? "add" : "remove") \(vip.address)/\(vip.prefixLength) dev \(vip.interface)",
                    "attempt": "\(attempt)", "error": "\(lastError)",
                ]
            )
            if attempt < 3 { try? await Task.sleep(for: .milliseconds(100)) }
        }
        return .failed(lastError)
    }
}
