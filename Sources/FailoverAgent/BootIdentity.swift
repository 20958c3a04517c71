import CFailoverNet

#if canImport(Glibc)
import Glibc
#endif

/// Chooses this run's boot id: larger than every earlier run's, so peers refuse replays of old runs.
///
/// The id is the wall clock in microseconds, raised above the id stored in `stateFile` by the previous run
/// (so a clock stepped back does not produce a smaller id); the new id is stored for the next run.
enum BootIdentity {
    static func next(stateFile: String?) -> UInt64 {
        let now = UInt64(max(0, fa_wall_nanoseconds() / 1_000))
        var previous: UInt64 = 0
        if let stateFile, let text = SmallFile.read(stateFile) {
            previous = UInt64(text.filter { !$0.isWhitespace }) ?? 0
        }
        let id = max(now, previous &+ 1)
        if let stateFile { SmallFile.write(stateFile, "\(id)\n") }
        return id
    }
}
