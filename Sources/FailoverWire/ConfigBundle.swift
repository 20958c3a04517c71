import Crypto

/// The files config sync moves as one unit: the engine's config file, then the side files of
/// `engine.sync_files`, in configured order. Only bytes travel; each node writes file `i` to its own
/// configured path `i`, so a path never comes from the network.
public struct ConfigBundle: Hashable, Sendable {
    /// The files' bytes, in configured order.
    public var files: [[UInt8]]

    /// Creates a bundle.
    public init(files: [[UInt8]]) { self.files = files }

    /// Total size in bytes.
    public var byteCount: Int { files.reduce(0) { $0 + $1.count } }

    /// SHA-256 over the file count, then each file's length and bytes: the hash in `ConfigStamp`.
    /// Paths are not part of it, so two nodes with the same bytes at different paths agree.
    public var hash: [UInt8] {
        var digest = SHA256()
        var header = ByteWriter(capacity: 4)
        header.write(UInt32(files.count))
        digest.update(data: header.bytes)
        for file in files {
            var length = ByteWriter(capacity: 8)
            length.write(UInt64(file.count))
            digest.update(data: length.bytes)
            digest.update(data: file)
        }
        return Array(digest.finalize())
    }
}
