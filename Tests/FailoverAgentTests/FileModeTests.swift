import FailoverWire
import Foundation
import Testing

@testable import FailoverAgent

@Suite("Synced files keep secrets secret")
struct FileModeTests {
    static func mode(_ path: String) -> mode_t {
        var info = stat()
        return stat(path, &info) == 0 ? info.st_mode & 0o777 : 0o7777
    }

    @Test("a synced file new on this node is 0600; an existing one keeps its mode; history is 0700/0600")
    func modes() throws {
        let directory = NSTemporaryDirectory() + "failover-modes-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let previous = umask(0o022)
        defer { umask(previous) }
        // A new side file (a private key on the primary): before, 0644 less the umask.
        try BundleWriter.writeDurably(Array("key".utf8), to: "\(directory)/site.pem", like: "\(directory)/site.pem")
        #expect(Self.mode("\(directory)/site.pem") == 0o600)
        // An existing file keeps its mode.
        #expect(FileManager.default.createFile(atPath: "\(directory)/errors.http", contents: Data()))
        chmod("\(directory)/errors.http", 0o640)
        try BundleWriter.writeDurably(Array("x".utf8), to: "\(directory)/tmp", like: "\(directory)/errors.http")
        #expect(Self.mode("\(directory)/tmp") == 0o640)
        // History copies.
        let history = ConfigHistory(directory: "\(directory)/history", paths: ["/etc/p.cfg", "/etc/site.pem"])
        let kept = try history.save(
            ConfigBundle(files: [Array("cfg".utf8), Array("key".utf8)]),
            stamp: ConfigStamp(generation: 1, hash: [UInt8](repeating: 1, count: 32)),
            rejected: false,
            origin: "test"
        )
        #expect(Self.mode("\(directory)/history") == 0o700)
        #expect(Self.mode(kept) == 0o700)
        #expect(Self.mode("\(kept)/1-site.pem") == 0o600)
    }

    @Test("with the primary's modes (sync version 2) a file takes them, new or existing, set-id bits never")
    func primaryModes() throws {
        let directory = NSTemporaryDirectory() + "failover-modes-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let previous = umask(0o022)
        defer { umask(previous) }
        let config = "\(directory)/proxy.cfg"
        let key = "\(directory)/site.pem"
        #expect(FileManager.default.createFile(atPath: key, contents: Data("old".utf8)))
        chmod(key, 0o644)  // wider on the backup than on the primary
        let writer = BundleWriter(paths: [config, key])
        let staged = try writer.stage(
            ConfigBundle(files: [Array("cfg".utf8), Array("new key".utf8)]),
            modes: [0o644, 0o600]
        )
        try writer.commit(staged, previous: BundleWriter.read([config, key]))
        // No engine group here: the group bits of a new file are not taken from the primary (they would name
        // another group); the owner's and others' are.
        #expect(Self.mode(config) == 0o604)
        #expect(Self.mode(key) == 0o600)
        #expect(BundleWriter.modes(of: [config, key]) == [0o604, 0o600])
        // Same bytes, another mode on the primary: only the mode changes.
        let changes = writer.conform(to: [0o600, 0o600])
        #expect(changes == ["\(config) 604 -> 600"])
        #expect(Self.mode(config) == 0o600)
        // A missing file reads as mode 0 (unknown: the receiver keeps its own rule).
        #expect(BundleWriter.modes(of: ["\(directory)/missing"]) == [0])
    }

    @Test("group bits travel only towards the engine's group; set-id bits never")
    func groupRule() {
        // The engine's group is the same group on both nodes.
        #expect(BundleWriter.transferred(0o640, existing: nil, group: 5, engineGroup: 5) == 0o640)
        // Another group (adm here, haproxy there): no wider than the file already was here.
        #expect(BundleWriter.transferred(0o640, existing: 0o600, group: 4, engineGroup: 5) == 0o600)
        #expect(BundleWriter.transferred(0o640, existing: 0o640, group: 4, engineGroup: nil) == 0o640)
        #expect(BundleWriter.transferred(0o600, existing: 0o640, group: 4, engineGroup: nil) == 0o600)
        #expect(BundleWriter.transferred(0o4755, existing: nil, group: 5, engineGroup: 5) == 0o755)
    }
}
