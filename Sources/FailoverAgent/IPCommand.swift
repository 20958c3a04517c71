import Subprocess

#if canImport(Glibc)
import Glibc
#endif

#if canImport(System)
import System
#else
import SystemPackage
#endif

/// Runs `ip` (iproute2) with an absolute path and an argument list; the only place that does.
struct IPCommand: Sendable {
    /// Where `ip` lives.
    let path: String

    init() {
        path =
            ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"].first { IPCommand.isExecutable($0) }
            ?? "/usr/sbin/ip"
    }

    /// The outcome of one `ip` run.
    struct Result: Sendable {
        var succeeded: Bool
        var output: String
        var error: String
    }

    func run(_ arguments: [String]) async -> Result {
        do {
            let result = try await Subprocess.run(
                .path(FilePath(path)),
                arguments: Arguments(arguments),
                output: .string(limit: 1 << 20),
                error: .string(limit: 1 << 16)
            )
            return Result(
                succeeded: result.terminationStatus.isSuccess,
                output: result.standardOutput,
                error: result.standardError.trimmingTrailingNewlines()
            )
        } catch {
            return Result(succeeded: false, output: "", error: "could not run \(path): \(error)")
        }
    }

    private static func isExecutable(_ path: String) -> Bool {
        access(path, X_OK) == 0
    }
}

extension String {
    func trimmingTrailingNewlines() -> String {
        var copy = self
        while copy.last == "\n" || copy.last == "\r" { copy.removeLast() }
        return copy
    }
}
