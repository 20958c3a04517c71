import NIOCore
import ProxyEngine
import Testing

@Suite("Event loop placement")
struct EventLoopPlacementTests {
    @Test("kernel CPU lists are read as the kernel writes them; malformed ones give nothing")
    func cpuLists() {
        #expect(EventLoopPlacement.cpuList("0-3,8,10-11") == [0, 1, 2, 3, 8, 10, 11])
        #expect(EventLoopPlacement.cpuList(" 1\n") == [1])
        #expect(EventLoopPlacement.cpuList("3-1").isEmpty)
        #expect(EventLoopPlacement.cpuList("a").isEmpty)
    }

    @Test("without nbthread each loop is pinned to one allowed CPU; with it none is")
    func placement() async throws {
        let allowed = EventLoopPlacement.allowedCPUs()
        #expect(!allowed.isEmpty)
        #expect(EventLoopPlacement.pinnedCPUs(threads: 2) == nil)
        let (group, pinned, failures) = EventLoopPlacement.makeGroup(threads: nil)
        if allowed.count > 1 && allowed.count == System.coreCount {
            #expect(pinned == allowed)
            #expect(failures.isEmpty)
        } else {
            #expect(pinned.isEmpty)
        }
        try await group.shutdownGracefully()
    }
}
