import ControlProtocol
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Why failoverctl could not talk to the agent, each with one clear line and its exit code.
struct ClientError: Error, CustomStringConvertible {
    let description: String
    let exitCode: Int32

    static func notRunning(_ path: String, _ detail: String) -> ClientError {
        ClientError(
            description:
                "agent not running: cannot connect to \(path) (\(detail)); start it with `systemctl start failover-agent`",
            exitCode: ExitCodes.notRunning
        )
    }
}

/// Documented exit codes (docs/control.md).
enum ExitCodes {
    static let ok: Int32 = 0
    static let failed: Int32 = 1
    static let usage: Int32 = 64
    static let notRunning: Int32 = 3
    static let permissionDenied: Int32 = 4
    static let protocolError: Int32 = 5
}

/// One request, one reply, over the agent's Unix socket. Blocking; failoverctl does nothing else meanwhile.
struct ControlClient {
    let path: String
    var timeoutSeconds = 15

    func send(_ request: ControlRequest) throws -> ControlReply {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else {
            throw ClientError(description: "socket: \(String(cString: strerror(errno)))", exitCode: ExitCodes.failed)
        }
        defer { close(fd) }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let pathBytes = Array(path.utf8)
        guard pathBytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            throw ClientError(description: "socket path too long: \(path)", exitCode: ExitCodes.usage)
        }
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            for (index, byte) in pathBytes.enumerated() { buffer[index] = byte }
        }
        let connected = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        if connected != 0 {
            let code = errno
            if code == EACCES || code == EPERM {
                throw ClientError(
                    description: "permission denied: cannot open \(path); run as root or join its group "
                        + "(usermod -aG failover-agent $USER)",
                    exitCode: ExitCodes.permissionDenied
                )
            }
            throw ClientError.notRunning(path, String(cString: strerror(code)))
        }
        var line = try JSONEncoder().encode(request)
        line.append(UInt8(ascii: "\n"))
        let written = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == line.count else {
            throw ClientError.notRunning(path, "write failed: \(String(cString: strerror(errno)))")
        }
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = read(fd, &buffer, buffer.count)
            if count > 0 {
                received.append(contentsOf: buffer[0..<count])
                if received.last == UInt8(ascii: "\n") { break }
            } else if count == 0 {
                break
            } else {
                throw ClientError(
                    description:
                        "no answer from the agent within \(timeoutSeconds)s (\(String(cString: strerror(errno))))",
                    exitCode: ExitCodes.protocolError
                )
            }
        }
        do {
            return try JSONDecoder().decode(ControlReply.self, from: Data(received))
        } catch {
            struct Loose: Decodable {
                var agent: String?
                var message: String?
            }
            let loose = try? JSONDecoder().decode(Loose.self, from: Data(received))
            let release =
                loose?.agent.map { "agent \($0), failoverctl \(productVersion)" } ?? "failoverctl \(productVersion)"
            throw ClientError(
                description: "unreadable answer from the agent (\(release)): \(error)"
                    + (loose?.message.map { "; it said: \($0)" } ?? "")
                    + "; use the failoverctl of the agent's release",
                exitCode: ExitCodes.protocolError
            )
        }
    }
}
