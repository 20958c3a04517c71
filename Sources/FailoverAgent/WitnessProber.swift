import CFailoverNet
import FailoverConfig
import FailoverCore
import Logging
import NIOCore
import NIOPosix

/// Probes the witness targets every interval: ICMP echo for `ADDR`, a TCP connect for `ADDR:PORT`. The
/// witness is reachable when any target answered within the timeout. Reports the first result and every change.
struct WitnessProber: Sendable {
    let witness: AgentConfiguration.Witness
    let group: any EventLoopGroup
    let events: AsyncStream<AgentEvent>.Continuation
    let logger: Logger

    func run() async {
        var last: Bool?
        var sequence: UInt16 = 0
        let identifier = UInt16(truncatingIfNeeded: getpid())
        while !Task.isCancelled {
            sequence &+= 1
            let round = sequence
            let answered = await withTaskGroup(of: Bool.self) { probes in
                for target in witness.targets {
                    probes.addTask { await probe(target, identifier: identifier, sequence: round) }
                }
                var any = false
                for await ok in probes where ok { any = true }
                return any
            }
            if answered != last {
                if answered {
                    logger.notice("witness reachable", metadata: ["targets": "\(witness.targets.map(\.description))"])
                } else {
                    logger.warning(
                        "witness unreachable: no target answered",
                        metadata: [
                            "targets": "\(witness.targets.map(\.description))",
                            "timeout": "\(witness.timeout.compactDescription)",
                        ]
                    )
                }
                last = answered
                events.yield(.witness(answered))
            }
            try? await Task.sleep(for: witness.interval)
        }
    }

    private func probe(_ target: Endpoint, identifier: UInt16, sequence: UInt16) async -> Bool {
        let timeout = witness.timeout
        if let port = target.port {
            do {
                let channel = try await ClientBootstrap(group: group)
                    .connectTimeout(.nanoseconds(timeout.nanoseconds))
                    .connect(host: target.address.description, port: Int(port))
                    .get()
                try? await channel.close()
                return true
            } catch {
                return false
            }
        }
        guard !target.address.isIPv6 else { return false }
        let bytes = target.address.bytes
        let milliseconds = Int32(max(1, timeout.nanoseconds / 1_000_000))
        let result = try? await NIOThreadPool.singleton.runIfActive {
            bytes.withUnsafeBufferPointer { fa_icmp_echo($0.baseAddress, milliseconds, identifier, sequence) }
        }
        return result == 0
    }
}

#if canImport(Glibc)
import Glibc
#endif
