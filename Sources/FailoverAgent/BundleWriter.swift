import FailoverWire

#if canImport(Glibc)
import Glibc
#endif

/// Why writing a synced bundle failed. The files in place are untouched (or put back) in every case.
struct BundleWriteError: Error, CustomStringConvertible, Sendable {
    var operation: String
    var path: String
    var code: Int32

    var description: String {
        let reason = String(cString: strerror(code))
        let fix: String
        switch code {
        case ENOSPC, EDQUOT: fix = "free space on the file system of \(path)"
        case EACCES, EPERM, EROFS: fix = "the agent runs as root and needs write access to \(path)'s directory"
        case ENOENT: fix = "create the directory \(BundleWriter.directory(of: path))"
        default: fix = "see the error"
        }
        return "cannot \(operation) \(path): \(reason) (the old file stays in place; \(fix))"
    }
}

/// Writes a bundle's files to their configured paths, atomically and durably, in two phases so that a
/// failure leaves the old files in place: `stage` writes each file to a temp file in the same directory and
/// fsyncs it (the engine's check runs on the staged config); `commit` renames every temp file over its
/// target and fsyncs the directories. The owner of an existing file is kept; its mode is the primary's when the
/// transfer carried modes (version 2), else kept.
struct BundleWriter {
    let paths: [String]
    /// The engine's group when the engine has its own user: a file new on this node is then 0640 and that
    /// group's, so the engine (and no one else but the agent) can read it. Otherwise new files are 0600.
    var engineGroup: gid_t? = nil

    /// The temp path beside `path`.
    static func stagingPath(for path: String) -> String {
        let slash = path.lastIndex(of: "/").map { path.index(after: $0) } ?? path.startIndex
        return String(path[..<slash]) + "." + String(path[slash...]) + ".failover-sync"
    }

    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/"), slash != path.startIndex else { return "/" }
        return String(path[..<slash])
    }

    /// Writes every file to its staging path, with the primary's `modes` when the transfer carried them. On
    /// failure removes what it staged and throws.
    func stage(_ bundle: ConfigBundle, modes: [UInt16]? = nil) throws(BundleWriteError) -> [String] {
        precondition(bundle.files.count == paths.count, "the session checked the file count")
        precondition(modes == nil || modes!.count == paths.count, "one mode a file")
        var staged: [String] = []
        for (index, (path, bytes)) in zip(paths, bundle.files).enumerated() {
            let temp = Self.stagingPath(for: path)
            do {
                try Self.writeDurably(
                    bytes,
                    to: temp,
                    like: path,
                    engineGroup: engineGroup,
                    mode: modes.map { mode_t($0[index] & 0o777) }
                )
            } catch {
                for done in staged { unlink(done) }
                unlink(temp)
                throw error
            }
            staged.append(temp)
        }
        return staged
    }

    /// Removes staged files (the check refused them, or the transfer was abandoned).
    func discard(_ staged: [String]) {
        for path in staged { unlink(path) }
    }

    /// Renames every staged file over its target, then fsyncs each directory once. A failed rename puts the
    /// files already renamed back from `previous` (their old bytes) and throws. A failed directory fsync comes
    /// after the new files are in place (their bytes are already durable): it is returned as a warning.
    @discardableResult
    func commit(_ staged: [String], previous: ConfigBundle) throws(BundleWriteError) -> [BundleWriteError] {
        // The modes before any rename: a file put back gets its own, not the new version's.
        let before: [mode_t?] = paths.map { path in
            var info = stat()
            return stat(path, &info) == 0 ? info.st_mode & 0o7777 : nil
        }
        for (index, (temp, path)) in zip(staged, paths).enumerated() where rename(temp, path) != 0 {
            let code = errno
            discard(Array(staged[index...]))
            for undo in 0..<index {
                try? Self.writeDurably(
                    previous.files[undo],
                    to: Self.stagingPath(for: paths[undo]),
                    like: paths[undo],
                    engineGroup: engineGroup,
                    mode: before[undo] ?? 0o600,
                    exactMode: true
                )
                rename(Self.stagingPath(for: paths[undo]), paths[undo])
            }
            throw BundleWriteError(operation: "rename into place", path: path, code: code)
        }
        var warnings: [BundleWriteError] = []
        for directory in Set(paths.map(Self.directory)) {
            do {
                try Self.syncDirectory(directory)
            } catch {
                warnings.append(error)
            }
        }
        return warnings
    }

    /// The permission bits of each file (0 for one that cannot be read): what transfer version 2 sends.
    static func modes(of paths: [String]) -> [UInt16] {
        paths.map { path in
            var info = stat()
            return stat(path, &info) == 0 ? UInt16(info.st_mode & 0o777) : 0
        }
    }

    /// Gives each file the primary's mode where it differs (the bytes were already the same); returns what it
    /// changed, `PATH 0644 -> 0600`. A file it cannot change is skipped (the next sync tries again).
    func conform(to modes: [UInt16]) -> [String] {
        var changes: [String] = []
        for (path, primary) in zip(paths, modes) {
            var info = stat()
            guard stat(path, &info) == 0 else { continue }
            let mode = Self.transferred(
                mode_t(primary),
                existing: info.st_mode,
                group: info.st_gid,
                engineGroup: engineGroup
            )
            guard info.st_mode & 0o777 != mode, chmod(path, mode) == 0 else { continue }
            changes.append("\(path) \(String(info.st_mode & 0o777, radix: 8)) -> \(String(mode, radix: 8))")
        }
        return changes
    }

    /// The mode a file takes from the primary's `mode`: its permission bits, except that group bits name a
    /// group, and only the engine's group is known to mean the same on both nodes. For a file of another group
    /// the group may get no more than the file here already gave it (a 0640 key of the primary's `haproxy`
    /// group must not become readable by this node's `adm`).
    static func transferred(_ mode: mode_t, existing: mode_t?, group: gid_t, engineGroup: gid_t?) -> mode_t {
        var result = mode & 0o777
        if engineGroup == nil || group != engineGroup {
            result &= ~mode_t(0o070) | ((existing ?? 0) & 0o070)
        }
        return result
    }

    /// Writes `bytes` to a new file `temp` and fsyncs it. Its mode: the primary's `mode` when given (see
    /// ``transferred(_:existing:group:engineGroup:)``; `exactMode`: as given, for a file put back), else that of
    /// `model` if it exists, else 0600, or 0640 with the engine's group. Its owner: `model`'s, or the agent with
    /// the engine's group (when the engine has its own user).
    static func writeDurably(
        _ bytes: [UInt8],
        to temp: String,
        like model: String,
        engineGroup: gid_t? = nil,
        mode: mode_t? = nil,
        exactMode: Bool = false
    ) throws(BundleWriteError) {
        var info = stat()
        let exists = stat(model, &info) == 0
        unlink(temp)
        // A file new on this node is its owner's only (a synced side file may be a private key), or readable by
        // the engine's own group besides; an existing one keeps its mode and owner.
        let newMode: mode_t = engineGroup == nil ? 0o600 : 0o640
        let finalMode: mode_t
        if let mode, exactMode {
            finalMode = mode
        } else if let mode {
            let group = exists ? info.st_gid : (engineGroup ?? getegid())
            finalMode = transferred(mode, existing: exists ? info.st_mode : nil, group: group, engineGroup: engineGroup)
        } else {
            finalMode = exists ? info.st_mode & 0o7777 : newMode
        }
        // Created owner-only: the bytes never sit readable by others, whatever the final mode.
        let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw BundleWriteError(operation: "create a temp file beside", path: model, code: errno) }
        var failure: BundleWriteError?
        if exists && fchown(fd, info.st_uid, info.st_gid) != 0 {
            failure = BundleWriteError(operation: "keep the owner for a temp file beside", path: model, code: errno)
        }
        if !exists, let engineGroup, fchown(fd, uid_t.max, engineGroup) != 0 {
            failure = BundleWriteError(
                operation: "give the engine's group a temp file beside",
                path: model,
                code: errno
            )
        }
        // After the owner: fchown clears set-id bits, and the umask narrowed the mode given to open.
        if failure == nil && fchmod(fd, finalMode) != 0 {
            failure = BundleWriteError(operation: "set the mode of a temp file beside", path: model, code: errno)
        }
        var offset = 0
        while failure == nil && offset < bytes.count {
            let written = bytes.withUnsafeBytes { buffer in
                write(fd, buffer.baseAddress! + offset, buffer.count - offset)
            }
            if written < 0 {
                if errno == EINTR { continue }
                failure = BundleWriteError(operation: "write a temp file beside", path: model, code: errno)
            } else {
                offset += written
            }
        }
        if failure == nil && fsync(fd) != 0 {
            failure = BundleWriteError(operation: "fsync a temp file beside", path: model, code: errno)
        }
        if close(fd) != 0 && failure == nil {
            failure = BundleWriteError(operation: "close a temp file beside", path: model, code: errno)
        }
        if let failure {
            unlink(temp)
            throw failure
        }
    }

    static func syncDirectory(_ directory: String) throws(BundleWriteError) {
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw BundleWriteError(operation: "open the directory", path: directory, code: errno) }
        defer { close(fd) }
        guard fsync(fd) == 0 else {
            throw BundleWriteError(operation: "fsync the directory", path: directory, code: errno)
        }
    }

    /// Reads the bundle at `paths` (a missing file reads as empty).
    static func read(_ paths: [String]) -> ConfigBundle {
        ConfigBundle(files: paths.map(readFile))
    }

    static func readFile(_ path: String) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return [] }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress!, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { break }
            bytes.append(contentsOf: chunk[0..<count])
        }
        return bytes
    }
}
