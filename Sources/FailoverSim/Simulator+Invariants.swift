import FailoverCore
import FailoverWire

/// What the checker remembers between events.
struct CheckerState {
    var firstElectionDone = false
    var dualSince: Instant?
    var noHolderSince: Instant?
    var connectedSince: [Int: Instant] = [:]
    var connectedDualSince: [Int: Instant] = [:]
    var cleanSince: [Int: Instant] = [:]
    var openSafety: Set<Int> = []
    var openLiveness: Set<Int> = []
    var openConvergence: Set<Int> = []
    var lastEdit: Instant?
}

extension Simulator {
    /// Combined loss above which a path no longer counts as connected: with at most 2 % of heartbeats lost,
    /// losing a whole dead interval of them (5 in a row) has a chance below 4e-9.
    static let connectedLossBound = 0.02

    /// Whether datagrams from `from` reach `to` well enough that the failure detector must not fire.
    func pathGood(_ from: Int, _ to: Int) -> Bool {
        var miss = 1.0
        for path in links[from][to] where path.up { miss *= path.loss }
        return miss <= Simulator.connectedLossBound
    }

    /// Whether no datagram at all can go between the two nodes, in either direction.
    func fullyCut(_ a: Int, _ b: Int) -> Bool {
        !links[a][b].contains(where: \.up) && !links[b][a].contains(where: \.up)
    }

    func isHealthy(_ index: Int) -> Bool {
        nodes[index].isActive(at: now) && nodes[index].engineReady
            && (!witnessConfigured || nodes[index].witnessReachable)
    }

    func violate(_ invariant: Violation.Invariant, _ detail: String) {
        let violation = Violation(invariant: invariant, at: now, step: step, detail: detail)
        note("VIOLATION \(violation)")
        if report.violations.count < 20 { report.violations.append(violation) }
    }

    private func pairKey(_ a: Int, _ b: Int) -> Int { min(a, b) * 8 + max(a, b) }

    func checkInvariants() {
        let holders = nodes.indices.filter { nodes[$0].vipHeld }
        trackSpan(active: holders.count >= 2, since: &checker.dualSince, max: &report.maxDualHolder)
        let someoneCould = nodes.indices.contains { isHealthy($0) && nodes[$0].election?.maintenance == false }
        trackSpan(
            active: holders.isEmpty && checker.firstElectionDone && someoneCould,
            since: &checker.noHolderSince,
            max: &report.maxNoHolder
        )
        for index in nodes.indices {
            let healthy = isHealthy(index)
            if !healthy {
                nodes[index].healthySince = nil
            } else if nodes[index].healthySince == nil {
                nodes[index].healthySince = now
            }
            let holding =
                nodes[index].vipHeld && nodes[index].isActive(at: now) && nodes[index].election?.role == .primary
            if !holding {
                nodes[index].holdingSince = nil
            } else if nodes[index].holdingSince == nil {
                nodes[index].holdingSince = now
            }
            for other in nodes.indices where other != index {
                let key = index * 8 + other
                if pathGood(index, other) {
                    if checker.cleanSince[key] == nil { checker.cleanSince[key] = now }
                } else {
                    checker.cleanSince[key] = nil
                }
            }
        }
        checkSafety()
        checkLiveness(holders: holders)
        checkConfigConvergence()
    }

    private func trackSpan(active: Bool, since: inout Instant?, max longest: inout Duration) {
        if active {
            if since == nil { since = now }
        } else if let start = since {
            longest = max(longest, now - start)
            since = nil
        }
    }

    /// Invariant 1: two nodes connected for longer than dead + heartbeat interval never both hold the VIP.
    private func checkSafety() {
        let bound = deadInterval + heartbeatInterval
        for a in nodes.indices {
            for b in nodes.indices where b > a {
                let key = pairKey(a, b)
                let connected =
                    nodes[a].isActive(at: now) && nodes[b].isActive(at: now) && pathGood(a, b) && pathGood(b, a)
                if connected {
                    if checker.connectedSince[key] == nil { checker.connectedSince[key] = now }
                } else {
                    checker.connectedSince[key] = nil
                }
                let dual = connected && nodes[a].vipHeld && nodes[b].vipHeld
                var span = checker.connectedDualSince[key]
                trackSpan(active: dual, since: &span, max: &report.maxConnectedDualHolder)
                checker.connectedDualSince[key] = span
                guard dual, let since = checker.connectedSince[key], now - since >= bound else {
                    if !dual { checker.openSafety.remove(key) }
                    continue
                }
                if checker.openSafety.insert(key).inserted {
                    violate(
                        .safety,
                        "\(nodes[a].name) and \(nodes[b].name) both hold the VIP after being connected for "
                            + "\((now - since).compactDescription)"
                    )
                }
            }
        }
    }

    /// Invariant 2: a healthy node cut off from all others takes the VIP within the bound.
    private func checkLiveness(holders: [Int]) {
        let bound = deadInterval + heartbeatInterval + tickInterval + .milliseconds(10)
        var active: [Bool] = []
        for index in nodes.indices { active.append(nodes[index].isActive(at: now)) }
        let served = holders.contains { active[$0] }
        for index in nodes.indices {
            var isolated =
                isHealthy(index) && nodes[index].election?.maintenance == false
                && nodes[index].shuttingDownSince == nil
            if isolated {
                for other in nodes.indices where other != index && active[other] && !fullyCut(index, other) {
                    isolated = false
                    break
                }
            }
            if !isolated {
                nodes[index].isolatedSince = nil
                checker.openLiveness.remove(index)
                continue
            }
            if nodes[index].isolatedSince == nil { nodes[index].isolatedSince = now }
            guard let since = nodes[index].isolatedSince, now - since >= bound else { continue }
            if served {
                checker.openLiveness.remove(index)
            } else if checker.openLiveness.insert(index).inserted {
                let name = nodes[index].name
                let role = nodes[index].election?.role.description ?? "down"
                let reason = nodes[index].election?.reason ?? ""
                violate(
                    .liveness,
                    "\(name) is healthy and alone for \((now - since).compactDescription) but nobody holds the "
                        + "VIP (role \(role): \(reason))"
                )
            }
        }
    }

    /// Invariant 5: nobody takes the VIP by election from a healthy primary it could hear all along.
    func checkNeedlessTakeover(by index: Int) {
        let windowStart = now - deadInterval - heartbeatInterval
        for other in nodes.indices where other != index {
            guard let holding = nodes[other].holdingSince, holding <= windowStart,
                let healthy = nodes[other].healthySince, healthy <= windowStart,
                let clean = checker.cleanSince[other * 8 + index], clean <= windowStart,
                nodes[other].shuttingDownSince == nil
            else { continue }
            violate(
                .needlessTakeover,
                "\(nodes[index].name) claimed the VIP by election (\(nodes[index].election?.reason ?? "")) while "
                    + "\(nodes[other].name) held it, healthy and clearly heard since \(holding)"
            )
        }
    }

    func finishMeasurements() {
        let holders = nodes.indices.filter { nodes[$0].vipHeld }
        trackSpan(active: false, since: &checker.dualSince, max: &report.maxDualHolder)
        if !holders.isEmpty || !checker.firstElectionDone { checker.noHolderSince = nil }
        trackSpan(active: false, since: &checker.noHolderSince, max: &report.maxNoHolder)
        for key in Array(checker.connectedDualSince.keys) {
            var span = checker.connectedDualSince[key]
            trackSpan(active: false, since: &span, max: &report.maxConnectedDualHolder)
        }
    }
}
