import FailoverWire
import Testing

@Suite("Key files")
struct KeyringTests {
    let hexKey = String(repeating: "ab", count: 32)

    @Test("one key, comments and blank lines")
    func single() throws {
        let keyring = try Keyring(keyFileText: "# cluster key\n\n\(hexKey)\n")
        #expect(keyring.accepted == nil)
        #expect(keyring.signing.fingerprint.count == 8)
    }

    @Test("a second key is accepted during a rotation")
    func two() throws {
        let keyring = try Keyring(keyFileText: "\(hexKey)\n\(String(repeating: "cd", count: 32))\n")
        #expect(keyring.accepted != nil)
    }

    @Test("errors name the line and the fix")
    func errors() {
        #expect(throws: KeyFileError.empty) { try Keyring(keyFileText: "# nothing\n") }
        #expect(throws: KeyFileError.notHex(line: 2)) { try Keyring(keyFileText: "\n zz \n") }
        #expect(throws: KeyFileError.tooShort(line: 1, bytes: 4)) { try Keyring(keyFileText: "abcdef01") }
        #expect(throws: KeyFileError.tooManyKeys(line: 3)) {
            try Keyring(keyFileText: "\(hexKey)\n\(hexKey)\n\(hexKey)")
        }
        #expect(KeyFileError.empty.description.contains("failoverctl keygen"))
    }
}
