import FailoverConfig
import FailoverWire
import Subprocess

#if canImport(System)
import System
#else
import SystemPackage
#endif

#if canImport(Glibc)
import Glibc
#endif

/// How to run, check, reload and stop one kind of engine.
struct EngineLaunch: Sendable {
    var kind: AgentConfiguration.EngineKind
    var binary: String
    var config: String
    /// Starts the engine in the foreground; it reports readiness with sd_notify on `NOTIFY_SOCKET`.
    var arguments: [String]
    /// Validates the config and exits 0 or 1 with the problems.
    var checkArguments: [String]
    /// Makes the running engine reload its config gracefully.
    var reloadSignal: CInt
    /// Asks the engine to stop after draining.
    var stopSignal: CInt
    /// The config and the side files (the sync bundle), hashed to look the check up in `checked`.
    var bundlePaths: [String]
    /// Bundles that passed the check moments ago (nil: always run the check).
    var checked: CheckedBundles?
    /// The user the engine and its check run as (nil: the agent's own), always with only
    /// CAP_NET_BIND_SERVICE: the agent's CAP_NET_ADMIN and CAP_NET_RAW stay with the agent.
    var user: String?

    /// The user `engine.user` names, or `failover-engine` when unset and that user exists, else nil.
    static func resolveUser(_ configured: String?) -> String? {
        if let configured { return configured.isEmpty ? nil : configured }
        return getpwnam(defaultUser) != nil ? defaultUser : nil
    }

    /// The user the package creates for the engine.
    static let defaultUser = "failover-engine"

    /// How to start `binary` with `arguments` with the engine's privileges: through `failover-agent
    /// drop-privileges`, which becomes the engine's user, keeps CAP_NET_BIND_SERVICE alone and then executes
    /// the engine (so the engine's pid and command line are its own).
    func privileged(_ arguments: [String]) -> (executable: String, arguments: [String]) {
        let wrapper = ["drop-privileges"] + (user.map { ["--user", $0] } ?? []) + ["--keep", "CAP_NET_BIND_SERVICE"]
        return (Self.ownExecutable(), wrapper + ["--", binary] + arguments)
    }

    init(engine: AgentConfiguration.Engine, config: String, checked: CheckedBundles? = nil) {
        kind = engine.kind
        self.config = config
        self.bundlePaths = [config] + engine.syncFiles
        self.checked = checked
        self.user = Self.resolveUser(engine.user)
        switch engine.kind {
        case .embedded:
            binary = engine.binary ?? Self.ownExecutable()
            arguments = ["proxy", "--config", config]
            checkArguments = ["proxy", "--check", "--config", config]
            reloadSignal = SIGHUP
            stopSignal = SIGTERM
        case .haproxy:
            binary = engine.binary ?? AgentConfiguration.Defaults.haproxyBinary
            // -Ws: master-worker with sd_notify; SIGUSR2 to the master reloads, SIGUSR1 stops softly.
            arguments = ["-Ws", "-f", config]
            checkArguments = ["-c", "-f", config]
            reloadSignal = SIGUSR2
            stopSignal = SIGUSR1
        }
    }

    /// This program's path (the embedded engine is `failover-agent proxy`).
    static func ownExecutable() -> String {
        var buffer = [CChar](repeating: 0, count: 4_096)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard length > 0 else { return "/usr/sbin/failover-agent" }
        return String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Runs the engine's own check of its config: whether it passes, what it printed and its warnings.
    /// Bytes that passed moments ago (`checked`) pass again without a run (warnings then unknown: nil).
    func check() async -> EngineCheck {
        guard let checked else { return await checkNow() }
        let before = BundleWriter.read(bundlePaths).hash
        if let warnings = checked.passed(before) {
            // Already logged by the check that ran; the count carries over.
            return EngineCheck(
                valid: true,
                output: "\(config): passed the engine's check moments ago (same bytes)",
                warnings: warnings,
                repeated: true
            )
        }
        let result = await checkNow()
        if result.valid && BundleWriter.read(bundlePaths).hash == before {
            checked.insert(before, warnings: result.warnings)
        }
        return result
    }

    private func checkNow() async -> EngineCheck {
        let (valid, output) = await runCheck()
        return EngineCheck(valid: valid, output: output, warnings: Self.warnings(in: output), repeated: false)
    }

    private func runCheck() async -> (Bool, String) {
        do {
            let command = privileged(checkArguments)
            let result = try await Subprocess.run(
                .path(FilePath(command.executable)),
                arguments: Arguments(command.arguments),
                output: .string(limit: 1 << 16),
                error: .string(limit: 1 << 16)
            )
            return (
                result.terminationStatus.isSuccess,
                (result.standardOutput + result.standardError).trimmingTrailingNewlines()
            )
        } catch {
            return (false, "could not run the engine's check \(binary): \(error)")
        }
    }

    /// Every `bind ADDR:PORT[,…]` and `listen NAME ADDR:PORT` of an HAProxy-style config, as host (without
    /// brackets) and port, in file order.
    static func binds(configText: String) -> [(host: String, port: UInt16)] {
        var binds: [(host: String, port: UInt16)] = []
        for line in configText.split(separator: "\n") {
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard let first = words.first else { continue }
            var addresses: [Substring] = []
            if first == "bind", words.count >= 2 { addresses = words[1].split(separator: ",") }
            if first == "listen", words.count >= 3 { addresses = words[2].split(separator: ",") }
            for address in addresses {
                guard let colon = address.lastIndex(of: ":"), let port = UInt16(address[address.index(after: colon)...])
                else { continue }
                binds.append((String(address[..<colon].trimmingCharacters(in: "[]")), port))
            }
        }
        return binds
    }

    /// The listener the liveness probe connects to when `engine.probe` is not set: the first bind on every
    /// address or on loopback, probed on loopback. A bind on one specific address (the VIP, say) is not
    /// probed by default: on the backup it would reach the primary.
    static func defaultProbe(configText: String) -> Endpoint? {
        for (host, port) in binds(configText: configText) {
            let probeHost: String
            switch host {
            case "", "*", "0.0.0.0", "ipv4@", "ipv4@0.0.0.0": probeHost = "127.0.0.1"
            case "::", "ipv6@::": probeHost = "::1"
            default:
                guard host.hasPrefix("127.") || host == "::1" else { continue }
                probeHost = host
            }
            if let address = IPAddress(probeHost) { return Endpoint(address: address, port: port) }
        }
        return nil
    }
}

extension Substring {
    fileprivate func trimmingCharacters(in set: String) -> Substring {
        var text = self
        while let first = text.first, set.contains(first) { text = text.dropFirst() }
        while let last = text.last, set.contains(last) { text = text.dropLast() }
        return text
    }
}

extension EngineLaunch {
    /// The warnings in a check's output (embedded: `warning: FILE:LINE: …`; HAProxy: `[WARNING] …`), so the
    /// agent logs what the engine accepts with no effect instead of dropping them with the passing output.
    static func warnings(in output: String) -> [String] {
        output.split(separator: "\n").map(String.init).filter { $0.hasPrefix("warning: ") || $0.contains("[WARNING]") }
    }
}

/// The engine's check of a config: whether it passes, what it printed, and its warnings; `repeated` when it
/// was not run again for bytes that passed moments ago (the warnings are that check's, already logged).
struct EngineCheck: Sendable {
    var valid: Bool
    var output: String
    var warnings: [String]
    var repeated: Bool
}
