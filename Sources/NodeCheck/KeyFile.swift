import FailoverWire

#if canImport(Glibc)
import Glibc
#endif

/// Reads the cluster key as the agent must: not through a symbolic link (`O_NOFOLLOW`), a regular file,
/// readable by its owner only, owned by the reader (root may read a file the service user owns), and the
/// checks made with `fstat` on the descriptor that is then read, so the file cannot be swapped in between.
public enum KeyFile {
    /// Why a key file is refused; each says what to do.
    public struct Problem: Error, CustomStringConvertible {
        public let description: String
    }

    public static func read(_ path: String) throws(Problem) -> Keyring {
        let descriptor = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)
        guard descriptor >= 0 else {
            let error = errno
            let reason: String
            switch error {
            case ENOENT:
                reason =
                    "no such file; create it with `failoverctl keygen > \(path)` on one node and copy it to the other"
            case ELOOP: reason = "it is a symbolic link; the agent reads the key file itself, not through a link"
            case EACCES: reason = "permission denied; the agent's user must own it (chown failover-agent: \(path))"
            default: reason = String(cString: strerror(error))
            }
            throw Problem(description: "\(path): cannot read the cluster key: \(reason)")
        }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
            throw Problem(description: "\(path): the cluster key must be a regular file")
        }
        if info.st_mode & 0o077 != 0 {
            throw Problem(
                description:
                    "\(path): the cluster key is readable by others (mode \(String(info.st_mode & 0o777, radix: 8))); "
                    + "fix it with: chmod 600 \(path)"
            )
        }
        let reader = geteuid()
        if reader != 0 && info.st_uid != reader {
            throw Problem(
                description:
                    "\(path): the cluster key belongs to uid \(info.st_uid), not to this user (uid \(reader)); "
                    + "fix it with: chown \(reader) \(path)"
            )
        }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4_096)
        while bytes.count <= 65_536 {
            let count = Glibc.read(descriptor, &buffer, buffer.count)
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else { throw Problem(description: "\(path): cannot read the cluster key") }
            if count == 0 { break }
            bytes += buffer[0..<count]
        }
        do {
            return try Keyring(keyFileText: String(decoding: bytes, as: UTF8.self))
        } catch {
            throw Problem(description: "\(path): \(error)")
        }
    }
}
