import FailoverConfig
import FailoverWire
import Foundation

/// Why the agent cannot start with the files it was given. Each says what to do.
public struct AgentSetupError: Error, CustomStringConvertible {
    public let description: String
}

/// Loads and checks the configuration and the key file; shared by `run`, reload and `failoverctl check`.
public enum AgentSetup {
    /// Reads and validates the TOML file and the key file it names.
    public static func load(configurationPath: String) throws -> (AgentConfiguration, Keyring) {
        let configuration = try loadConfiguration(configurationPath)
        let keyring = try loadKeyring(configuration.cluster.keyFile)
        return (configuration, keyring)
    }

    /// Reads and validates the TOML file.
    public static func loadConfiguration(_ path: String) throws -> AgentConfiguration {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw AgentSetupError(description: "\(path): cannot read the configuration (\(fileProblem(path)))")
        }
        return try AgentConfiguration.parse(String(decoding: data, as: UTF8.self), file: path)
    }

    /// Reads the key file, refusing one that others can read.
    public static func loadKeyring(_ path: String) throws -> Keyring {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw AgentSetupError(
                description: "\(path): cannot read the cluster key (\(fileProblem(path))); create it with "
                    + "`failoverctl keygen > \(path)` on one node and copy it to the other"
            )
        }
        if info.st_mode & 0o077 != 0 {
            throw AgentSetupError(
                description:
                    "\(path): the cluster key is readable by others (mode \(String(info.st_mode & 0o777, radix: 8))); "
                    + "fix it with: chmod 600 \(path)"
            )
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw AgentSetupError(description: "\(path): cannot read the cluster key (\(fileProblem(path)))")
        }
        do {
            return try Keyring(keyFileText: String(decoding: data, as: UTF8.self))
        } catch {
            throw AgentSetupError(description: "\(path): \(error)")
        }
    }

    static func fileProblem(_ path: String) -> String {
        FileManager.default.fileExists(atPath: path) ? "permission denied" : "no such file"
    }
}
