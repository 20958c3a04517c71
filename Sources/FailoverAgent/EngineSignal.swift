#if canImport(Glibc)
import Glibc
#endif

/// Signals the engine's process, and nothing else: a pid of 0 would signal the agent's own process group, -1
/// every process the agent may signal, 1 init. The supervisor only ever signals through this.
enum EngineSignal {
    /// Sends `signal` to `pid`; false (nothing sent) when there is no engine pid or it is not a single other
    /// process.
    @discardableResult
    static func send(_ signal: CInt, to pid: Int32?) -> Bool {
        guard let pid, pid > 1, pid != getpid() else { return false }
        return kill(pid, signal) == 0
    }
}
