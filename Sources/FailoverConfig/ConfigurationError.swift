/// One problem in a configuration file: where it is, what is wrong, and how to fix it.
public struct ConfigurationIssue: Hashable, Sendable, CustomStringConvertible {
    /// The file.
    public var file: String
    /// The line, when it could be found.
    public var line: Int?
    /// The key, dotted (`cluster.dead_interval`), or empty for the whole file.
    public var key: String
    /// What is wrong and what to do, in one sentence.
    public var message: String

    /// Creates an issue.
    public init(file: String, line: Int?, key: String, message: String) {
        self.file = file
        self.line = line
        self.key = key
        self.message = message
    }

    public var description: String {
        let place = line.map { "\(file):\($0)" } ?? file
        return key.isEmpty ? "\(place): \(message)" : "\(place): \(key): \(message)"
    }
}

/// A configuration that cannot be used, with every problem found in it.
public struct ConfigurationError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The problems, in file order where known.
    public var issues: [ConfigurationIssue]

    /// Creates an error.
    public init(issues: [ConfigurationIssue]) { self.issues = issues }

    public var description: String { issues.map(\.description).joined(separator: "\n") }
}
