import Foundation
import Testing

@testable import FailoverAgent

@Suite("Engine signals reach the engine only")
struct EngineSignalTests {
    @Test("no pid, 0 (own process group), -1 (everyone), 1 (init) and our own pid are never signalled")
    func refusesWhatIsNotAnEngine() {
        // Signal 0 only checks: had any of these been sent, a real signal would have hit the agent's group.
        for pid: Int32? in [nil, 0, -1, 1, getpid()] {
            #expect(!EngineSignal.send(0, to: pid), "pid \(String(describing: pid))")
        }
    }

    @Test("a child process is signalled")
    func signalsAChild() throws {
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/bin/sleep")
        child.arguments = ["5"]
        try child.run()
        // SIGKILL: an ignored SIGTERM in the test runner would be inherited by the child.
        #expect(EngineSignal.send(SIGKILL, to: child.processIdentifier))
        child.waitUntilExit()
        #expect(child.terminationReason == .uncaughtSignal)
    }
}
