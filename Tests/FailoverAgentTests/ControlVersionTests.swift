import ControlProtocol
import Foundation
import Testing

@Suite("The control protocol across releases: failoverctl of one release against an agent of another")
struct ControlVersionTests {
    @Test("a request of this release parses, with the caller's release")
    func parses() throws {
        let line = Array(#"{"command":"failover","client":"0.4.0"}"#.utf8)
        #expect(try ControlRequest.parse(line).get() == ControlRequest(command: .failover, client: "0.4.0"))
        // failoverctl 0.3 sends no client.
        let old = Array(#"{"command":"status"}"#.utf8)
        #expect(try ControlRequest.parse(old).get() == ControlRequest(command: .status, client: nil))
    }

    @Test("a command of a newer failoverctl is refused naming both releases")
    func newerCommand() {
        let line = Array(#"{"command":"drain","client":"0.9.0"}"#.utf8)
        guard case .failure(let problem) = ControlRequest.parse(line) else {
            Issue.record("an unknown command parsed")
            return
        }
        #expect(problem == .unknownCommand("drain", client: "0.9.0"))
        #expect(problem.description.contains("failoverctl 0.9.0 against agent \(productVersion)"))
        #expect(ControlRequest.parse(Array("not json".utf8)) == .failure(.malformed))
    }

    @Test("a reply of an older agent (no release) and a newer one (unknown error code, more fields) both read")
    func replies() throws {
        let old = Data(#"{"ok":true,"message":"done"}"#.utf8)
        let reply = try JSONDecoder().decode(ControlReply.self, from: old)
        #expect(reply.ok && reply.agent == nil)
        let newer = Data(#"{"ok":false,"message":"x","error":"quorum-lost","agent":"0.9.0","extra":[1]}"#.utf8)
        let future = try JSONDecoder().decode(ControlReply.self, from: newer)
        #expect(future.error == .unrecognized && future.agent == "0.9.0")
        // This release's codes still read as themselves.
        let known = Data(#"{"ok":false,"message":"x","error":"permission-denied"}"#.utf8)
        #expect(try JSONDecoder().decode(ControlReply.self, from: known).error == .permissionDenied)
    }
}
