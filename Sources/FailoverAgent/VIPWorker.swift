import FailoverConfig
import FailoverCore
import Logging

/// A VIP operation for the worker.
enum VIPJob: Sendable {
    case claim(operation: UInt64)
    case release(operation: UInt64)
    /// Make the interfaces match what the election believes: held → all present, released → none.
    case reconcile(shouldHold: Bool)
    case removeStale
}

/// Runs VIP operations one at a time, in order, off the main loop, and reports each result back to it.
/// After a successful claim it starts an announcement burst at once.
struct VIPWorker: Sendable {
    let driver: VIPDriver
    let announcements: AsyncStream<String>.Continuation
    let events: AsyncStream<AgentEvent>.Continuation
    let presence: VIPPresence
    let logger: Logger

    func run(_ jobs: AsyncStream<VIPJob>) async {
        // VIPs found on an interface that the agent did not add: reported once each, never removed.
        var reportedForeign: Set<String> = []
        for await job in jobs {
            switch job {
            case .claim(let operation):
                let failure = await driver.claim()
                presence.set(failure == nil)
                if failure == nil { announcements.yield("claimed") }
                if let failure {
                    logger.error("VIP claim failed", metadata: ["error": "\(failure)"])
                    _ = await driver.release()
                }
                events.yield(.vip(VIPOperationResult(operation: operation, failure: failure)))
            case .release(let operation):
                presence.set(false)
                let failure = await driver.release()
                if let failure { logger.error("VIP release failed", metadata: ["error": "\(failure)"]) }
                events.yield(.vip(VIPOperationResult(operation: operation, failure: failure)))
            case .reconcile(let shouldHold):
                presence.set(shouldHold)
                let present = await driver.present()
                if shouldHold && present.count < driver.vips.count {
                    let absent = driver.vips.filter { vip in !present.contains(vip) }
                    let missing = absent.map { "\($0.address)" }
                    let failure = await driver.claim(only: absent)
                    announcements.yield("re-added after it vanished")
                    events.yield(
                        .vipDrift(
                            "VIP \(missing.joined(separator: ", ")) vanished from the interface while primary; "
                                + (failure.map { "re-adding failed: \($0)" } ?? "re-added")
                        )
                    )
                } else if !shouldHold && !present.isEmpty {
                    let added = driver.ledger.recorded()
                    let ours = present.filter { added.contains(VIPLedger.key($0)) }
                    let foreign = present.filter { !added.contains(VIPLedger.key($0)) }
                    if !ours.isEmpty {
                        let failure = await driver.release()
                        events.yield(
                            .vipDrift(
                                "VIP \(ours.map { "\($0.address)" }.joined(separator: ", ")) was on the interface while "
                                    + "not primary; " + (failure.map { "removing failed: \($0)" } ?? "removed")
                            )
                        )
                    }
                    for vip in foreign where reportedForeign.insert(VIPLedger.key(vip)).inserted {
                        events.yield(
                            .vipDrift(
                                "VIP \(vip.address) is on \(vip.interface) while not primary, and the agent did not add "
                                    + "it: left in place (a duplicate address on the network); "
                                    + VIPDriver.foreignFix(vip)
                            )
                        )
                    }
                }
            case .removeStale:
                presence.set(false)
                let present = await driver.present()
                if !present.isEmpty {
                    let failure = await driver.release()
                    logger.warning(
                        "removed a stale VIP left by an earlier run before electing",
                        metadata: ["vips": "\(present.map { "\($0.address)" })", "error": "\(failure ?? "none")"]
                    )
                }
            }
        }
    }
}
