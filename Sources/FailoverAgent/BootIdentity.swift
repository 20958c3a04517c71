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
        if let stateFile, let text = readSmallFile(stateFile) {
            previous = UInt64(text.filter { !$0.isWhitespace }) ?? 0
        }
        let id = max(now, previous &+ 1)
        if let stateFile { writeSmallFile(stateFile, "\(id)\n") }
        return id
    }

    static func readSmallFile(_ path: String) -> String? {
        guard let file = fopen(path, "r") else { return nil }
        defer { fclose(file) }
        var buffer = [CChar](repeating: 0, count: 128)
        guard fgets(&buffer, Int32(buffer.count), file) != nil else { return nil }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func writeSmallFile(_ path: String, _ text: String) {
        let temporary = path + ".tmp"
        guard let file = fopen(temporary, "w") else { return }
        fputs(text, file)
        fflush(file)
        fsync(fileno(file))
        fclose(file)
        rename(temporary, path)
    }
}
