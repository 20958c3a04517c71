/// One problem (or, for warnings, one keyword with no effect) in a proxy configuration, with file and line.
public struct ProxyConfigIssue: Hashable, Sendable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var keyword: String
    public var message: String

    public init(file: String, line: Int, keyword: String, message: String) {
        self.file = file
        self.line = line
        self.keyword = keyword
        self.message = message
    }

    public var description: String { "\(file):\(line): '\(keyword)': \(message)" }
}

/// A proxy configuration that cannot be used, with every problem found, and the warnings found beside them.
public struct ProxyConfigError: Error, Hashable, Sendable, CustomStringConvertible {
    public var issues: [ProxyConfigIssue]
    public var warnings: [ProxyConfigIssue]

    public init(issues: [ProxyConfigIssue], warnings: [ProxyConfigIssue] = []) {
        self.issues = issues
        self.warnings = warnings
    }

    /// The errors, one a line, then the warnings, each marked `warning:`.
    public var description: String {
        (issues.map(\.description) + warnings.map { "warning: \($0)" }).joined(separator: "\n")
    }
}
