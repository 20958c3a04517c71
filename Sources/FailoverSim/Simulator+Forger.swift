import FailoverCore
import FailoverWire

extension Simulator {
    /// Schedules the next hostile datagram: a replay, a tampered copy, one signed with another key, or junk.
    func scheduleNextForgery() {
        let at = now + random.duration(.milliseconds(100) ... .seconds(1))
        schedule(at: at, "forgery") { simulator in
            simulator.forge()
            simulator.scheduleNextForgery()
        }
    }

    private func forge() {
        let target = Int.random(in: 0..<nodes.count, using: &random)
        guard nodes[target].isRunning else { return }
        var bytes: [UInt8]?
        let kind = Int.random(in: 0..<5, using: &random)
        note("forge \(["replay", "stale-boot replay", "tampered", "wrong key", "junk"][kind]) → \(nodes[target].name)")
        switch kind {
        case 0:
            bytes = nodes[target].accepted.randomElement(using: &random)
        case 1:
            let stale = wireLog.filter { entry in
                entry.bootID < (nodes[target].newestBoot[entry.sender] ?? 0)
            }
            bytes = stale.randomElement(using: &random)?.bytes
        case 2:
            if let original = wireLog.randomElement(using: &random)?.bytes {
                var copy = original
                // Flips can cancel out; a copy equal to the original is no forgery, so flip until it differs.
                while copy == original {
                    for _ in 0..<Int.random(in: 1...3, using: &random) {
                        let position = Int.random(in: 0..<copy.count, using: &random)
                        copy[position] ^= UInt8(1) << UInt8.random(in: 0...7, using: &random)
                    }
                }
                bytes = copy
            }
        case 3:
            var keyBytes: [UInt8] = []
            for _ in 0..<32 { keyBytes.append(UInt8.random(in: 0...255, using: &random)) }
            let message = Message(
                sender: nodes[Int.random(in: 0..<nodes.count, using: &random)].name,
                term: UInt64.random(in: 0...1_000, using: &random),
                role: .primary,
                priority: 255,
                flags: [.holdsVIP, .engineReady, .witnessOK],
                config: .none,
                body: .heartbeat(HeartbeatTiming(sentAt: 1))
            )
            let envelope = Envelope(bootID: .max, sequence: 1, message: message)
            bytes = DatagramCodec.encode(envelope, key: ClusterKey(bytes: keyBytes)!)
        default:
            let length = Int.random(in: 0...600, using: &random)
            var junk = DatagramCodec.magic + [DatagramCodec.version]
            while junk.count < length { junk.append(UInt8.random(in: 0...255, using: &random)) }
            bytes = Array(junk.prefix(length))
        }
        guard let bytes else { return }
        let link = Int.random(in: 0..<linkCount, using: &random)
        queue.schedule(.deliver(node: target, link: link, bytes: bytes, forged: true), at: now + baseDelay)
    }
}
