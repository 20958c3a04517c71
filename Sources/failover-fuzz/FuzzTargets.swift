import FailoverConfig
import FailoverWire
import ProxyConfig
import ProxyEngine

/// The inputs an attacker or a careless operator controls, each behind one function that must never trap,
/// hang or accept what it must not (docs/reliability.md, "Fuzzing"). Built two ways: with libFuzzer
/// (`scripts/fuzz.sh TARGET SECONDS`, `-DFUZZING -sanitize=fuzzer`), and as a plain program that replays
/// files through a target (`failover-fuzz replay TARGET FILE...`), which the tests run on the committed corpus
/// and on every crash ever found (Fuzz/regressions).
enum FuzzTarget: String, CaseIterable {
    /// Heartbeat datagrams: decode and replay-check under a fixed key. What is accepted (the valid seeds) must
    /// be canonical: sealing the decoded envelope again gives the same bytes (no malleable datagram).
    case datagram
    /// Config-sync transfer frames, on both sides of a connection; nothing unauthenticated may complete.
    case sync
    /// The agent's TOML configuration.
    case toml
    /// The engine's HAProxy-style configuration.
    case proxyconfig
    /// HTTP request heads from clients, through the engine's rules to the request it forwards.
    case httphead

    static let key = ClusterKey(bytes: Array(repeating: 0x42, count: 32))!
    static let keyring = Keyring(signing: key)

    func run(_ bytes: [UInt8]) {
        switch self {
        case .datagram:
            var opener = DatagramOpener(keyring: Self.keyring, localName: NodeName("lb2")!)
            if case .success(let envelope) = opener.open(bytes) {
                precondition(
                    DatagramCodec.encode(envelope, key: Self.key) == bytes,
                    "an accepted datagram is not canonical"
                )
            }
        case .sync:
            var client = SyncClientSession(
                keyring: Self.keyring,
                nonce: Array(repeating: 1, count: 16),
                requester: "lb2",
                serving: 1,
                limit: 1 << 20,
                expectedFiles: 2
            )
            if case .done = try? client.receive(bytes) { fatalError("a fuzzed transfer completed") }
            var server = SyncServerSession(keyring: Self.keyring, nonce: Array(repeating: 2, count: 16))
            if (try? server.receive(bytes)) ?? nil != nil { fatalError("a fuzzed request was accepted") }
        case .toml:
            _ = try? AgentConfiguration.parse(String(decoding: bytes, as: UTF8.self), file: "fuzz.toml")
        case .proxyconfig:
            // An accepted configuration is also built into everything the engine makes of it (the overflow of
            // `timeout client 110000d` trapped there, after the parser had accepted it).
            let files: (String) -> [UInt8]? = { $0 == "patterns.lst" ? Array("/a\n # c\n\n  /b\r\n".utf8) : nil }
            if let configuration = try? ProxyConfigParser.parse(
                String(decoding: bytes, as: UTF8.self),
                file: "fuzz.cfg",
                readFile: files
            ) {
                _ = ProxyEngine.rehearse(configuration)
            }
        case .httphead:
            HTTPHeadFuzz.run(bytes)
        }
    }
}
