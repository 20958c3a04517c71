import ProxyConfig
import ProxyEngine
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("Descriptor budget: a default maxconn from RLIMIT_NOFILE, as HAProxy 2.6")
struct DescriptorBudgetTests {
    @Test("HAProxy's figures: (limit − 26 − listeners) / 2; the engine keeps 3 per loop, 64 per listener, 1 per check")
    func figures() {
        // Measured with HAProxy 2.6 (one bind and the stats socket): 1 024 → 498, 4 096 → 2 034.
        #expect(DescriptorBudget.defaultMaxConnections(descriptorLimit: 1_024, reserve: 28) == 498)
        #expect(DescriptorBudget.defaultMaxConnections(descriptorLimit: 4_096, reserve: 28) == 2_034)
        #expect(DescriptorBudget.reserve(listeners: 1, eventLoops: 2) == 97)
        #expect(DescriptorBudget.reserve(listeners: 2, eventLoops: 2, checkedServers: 3) == 26 + 130 + 6 + 3)
        #expect(DescriptorBudget.defaultMaxConnections(descriptorLimit: 20, reserve: 97) == 1)
        #expect(DescriptorBudget.needed(maxConnections: 100, reserve: 97) == 297)
    }

    @Test("without global maxconn the engine takes one from its limit; a maxconn beyond the hard limit is refused")
    func apply() throws {
        var limits = rlimit()
        #expect(getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limits) == 0)
        let soft = Int(min(limits.rlim_cur, 1 << 30))
        let hard = Int(min(limits.rlim_max, 1 << 30))
        let text = "listen e\n    bind 127.0.0.1:1\n    server s 127.0.0.1:2\n"
        var open = try ProxyConfigParser.parse(text, file: "e.cfg")
        let outcome = try DescriptorBudget.apply(to: &open, file: "e.cfg", eventLoops: 2)
        let expected = max(1, (soft - 97) / 2)
        #expect(outcome == .derived(maxConnections: expected, descriptorLimit: soft))
        #expect(open.maxConnections == expected)

        guard hard < 1 << 29 else { return }  // an unlimited hard limit cannot be exceeded
        var huge = try ProxyConfigParser.parse("global\n    maxconn \(hard)\n" + text, file: "h.cfg")
        // The config check (dry run) refuses it too, without touching the limit.
        #expect(throws: DescriptorBudget.Shortfall.self) {
            _ = try DescriptorBudget.apply(to: &huge, file: "h.cfg", eventLoops: 2, dryRun: true)
        }
        #expect(throws: DescriptorBudget.Shortfall.self) {
            _ = try DescriptorBudget.apply(to: &huge, file: "h.cfg", eventLoops: 2)
        }
        do {
            _ = try DescriptorBudget.apply(to: &huge, file: "h.cfg", eventLoops: 2)
        } catch {
            #expect(error.description.hasPrefix("h.cfg:2: 'maxconn': \(hard) connections need "))
            #expect(error.description.contains("lower 'maxconn' to at most \((hard - 97) / 2)"))
        }
    }
}
