import FailoverConfig
import FailoverWire
import Foundation
import ProxyConfig

/// The one check of a node's configuration, run by `failoverctl check`, `failover-agent check` and the
/// agent at start: the TOML file, the cluster key (as the agent reads it), the links against this host's
/// addresses, and the engine's configuration with its warnings. One verdict for all of them.
public enum NodeCheck {
    /// What the check found.
    public struct Report: Sendable {
        /// Problems that stop the agent; each names the file (and line or key) and the fix.
        public var errors: [String] = []
        /// What works but an operator should know (the engine configuration's warnings).
        public var warnings: [String] = []
        /// The configuration, when it parsed.
        public var configuration: AgentConfiguration?
        /// The key's fingerprint, when it was read.
        public var fingerprint: String?

        /// The lines to print: the errors, the warnings (`warning: `), then `PATH: OK (…)` when there is no error.
        public func lines(path: String) -> [String] {
            var lines = errors + warnings.map { "warning: \($0)" }
            if errors.isEmpty, let configuration {
                var summary =
                    "\(path): OK (node \(configuration.node.name), links: \(configuration.cluster.links.count), "
                    + "VIPs: \(configuration.vips.count)"
                if let fingerprint { summary += ", key \(fingerprint)" }
                if !warnings.isEmpty { summary += ", \(warnings.count) warning\(warnings.count == 1 ? "" : "s")" }
                lines.append(summary + ")")
            }
            return lines
        }
    }

    /// Checks the configuration at `path`. `hostAddresses` are this host's addresses (nil: do not compare
    /// the links with them, as when the file is checked for another host).
    public static func run(path: String, hostAddresses: [IPAddress]? = HostAddresses.current()) -> Report {
        var report = Report()
        guard let data = FileManager.default.contents(atPath: path) else {
            let reason = FileManager.default.fileExists(atPath: path) ? "permission denied" : "no such file"
            report.errors.append("\(path): cannot read the configuration (\(reason))")
            return report
        }
        let configuration: AgentConfiguration
        do {
            configuration = try AgentConfiguration.parse(String(decoding: data, as: UTF8.self), file: path)
        } catch {
            report.errors = error.issues.map(\.description)
            return report
        }
        report.configuration = configuration
        do {
            report.fingerprint = try KeyFile.read(configuration.cluster.keyFile).signing.fingerprint
        } catch {
            report.errors.append(error.description)
        }
        if let hostAddresses {
            for (index, link) in configuration.cluster.links.enumerated() where !hostAddresses.contains(link.local) {
                let swapped = hostAddresses.contains(link.peer)
                report.errors.append(
                    "\(path): cluster.link.\(index).local: \(link.local) is not an address of this host, so the link "
                        + "cannot bind and the node would hear no peer and claim the VIP"
                        + (swapped
                            ? "; \(link.peer) is this host's: swap local and peer"
                            : "; write this host's address on that path (ip -br addr)")
                )
            }
        }
        let (errors, warnings) = engineProblems(configuration.engine, config: path)
        report.errors += errors
        report.warnings += warnings
        return report
    }

    /// The engine configuration's problems and warnings: unreadable, or (embedded engine) what its parser
    /// refuses or warns about, with file and line; (HAProxy) what `haproxy -c` says, where HAProxy is
    /// installed.
    public static func engineProblems(
        _ engine: AgentConfiguration.Engine,
        config: String
    ) -> (errors: [String], warnings: [String]) {
        guard let path = engine.config else { return ([], []) }
        guard let data = FileManager.default.contents(atPath: path) else {
            return (["\(path): cannot read the engine configuration (named by [engine] config in \(config))"], [])
        }
        guard engine.kind == .embedded else { return haproxyCheck(path) }
        do {
            let parsed = try ProxyConfigParser.parse(String(decoding: data, as: UTF8.self), file: path) { name in
                FileManager.default.contents(atPath: name).map { Array($0) }
            }
            return ([], parsed.warnings.map(\.description))
        } catch {
            return (error.issues.map(\.description), error.warnings.map(\.description))
        }
    }

    private static func haproxyCheck(_ path: String) -> (errors: [String], warnings: [String]) {
        let binary = ["/usr/sbin/haproxy", "/usr/local/sbin/haproxy"].first {
            FileManager.default.isExecutableFile(atPath: $0)
        }
        guard let binary else {
            return ([], ["\(path): haproxy is not installed here; its configuration was not checked"])
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["-c", "-f", path]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        do {
            try process.run()
        } catch {
            return (["\(path): cannot run \(binary) -c: \(error)"], [])
        }
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let lines = text.split(separator: "\n").map(String.init).filter {
            $0.contains("[ALERT]") || $0.contains("[WARNING]")
        }
        if process.terminationStatus != 0 {
            return (lines.isEmpty ? ["\(path): haproxy -c failed (exit \(process.terminationStatus))"] : lines, [])
        }
        return ([], lines)
    }
}
