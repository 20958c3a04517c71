import FailoverConfig
import FailoverWire
import Foundation
import NodeCheck

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

    /// Reads the key file as `NodeCheck` does (no symbolic link, owner only, checked on the descriptor read).
    public static func loadKeyring(_ path: String) throws -> Keyring {
        do {
            return try KeyFile.read(path)
        } catch {
            throw AgentSetupError(description: error.description)
        }
    }

    static func fileProblem(_ path: String) -> String {
        FileManager.default.fileExists(atPath: path) ? "permission denied" : "no such file"
    }
}
