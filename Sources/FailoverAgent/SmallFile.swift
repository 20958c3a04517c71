#if canImport(Glibc)
import Glibc
#endif

/// The agent's own small state files (boot id, VIP ledger): read whole, written atomically (a temp file,
/// fsync, rename), so a kill in the middle leaves the old content or the new, never half of one.
enum SmallFile {
    /// The file's text (at most 64 KiB), or nil when it cannot be read.
    static func read(_ path: String) -> String? {
        guard let file = fopen(path, "r") else { return nil }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4_096)
        while bytes.count < 65_536 {
            let count = fread(&buffer, 1, buffer.count, file)
            if count <= 0 { break }
            bytes += buffer[0..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Replaces the file's content with `text`, atomically; a failure leaves the old file.
    static func write(_ path: String, _ text: String) {
        let temporary = path + ".tmp"
        guard let file = fopen(temporary, "w") else { return }
        fputs(text, file)
        fflush(file)
        fsync(fileno(file))
        fclose(file)
        rename(temporary, path)
    }
}
